@0xc0ffee0123456795;

interface Sink {
  write @0 (data :Data) -> stream;
}
