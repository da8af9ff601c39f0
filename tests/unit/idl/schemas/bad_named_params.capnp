@0xc0ffee0123456799;

struct Request {
  a @0 :Int64;
}

interface Named {
  call @0 Request -> ();
}
