@0xc0ffee0123456792;

struct Box(T) {
  value @0 :T;
}
