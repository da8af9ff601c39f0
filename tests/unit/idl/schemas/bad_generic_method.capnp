@0xc0ffee0123456794;

interface Echo {
  ping @0 () -> ();
  echo @1 [T] (value :T) -> (value :T);
}
