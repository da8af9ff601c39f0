# The calculator example: integer and floating-point arithmetic, a typed error, a file descriptor
# coming back from the server, an interface value (a new door) coming back from it, and
# expressions: an enum, a struct with an unnamed union holding a group, a recursive struct and a
# list of structs.
@0xa9600f8ddd26eeff;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("calc");

using Door = import "/doors/door.capnp";

interface Calculator $Door.path("calculator") {
  add @0 (a :Int64, b :Int64) -> (sum :Int64);
  # a + b. A sum that does not fit in an Int64 fails with OUT_OF_RANGE.

  divide @1 (a :Int64, b :Int64) -> (quotient :Int64);
  # a / b, rounded toward zero. b == 0 fails with INVALID_ARGUMENT "division by zero" (a typed
  # error, not a crash); the one quotient that does not fit, INT64_MIN / -1, with OUT_OF_RANGE.

  total @2 (values :List(Float64)) -> (sum :Float64);
  # The sum of the values (0 for none).

  openLog @3 (name :Text) -> (log :Door.Fd);
  # Opens (creating it when missing) the server's log file `<name>.log` for appending and hands
  # the descriptor back: the caller writes to it directly. `name` must be 1 to 64 bytes with no
  # '/', no ".." and no NUL (INVALID_ARGUMENT otherwise).

  session @4 () -> (s :Session);
  # A new session: a door of its own, private to whoever holds it. The session and what it holds
  # go away when its last reference is closed.

  parse @5 (text :Text) -> (expression :Expression);
  # Parses infix arithmetic into an expression tree: decimal numbers (`2`, `0.5`, `.5`, `1e-3`),
  # variables (`[A-Za-z_][A-Za-z0-9_]*`), `+ - * /`, unary minus, parentheses and white space.
  # `*` and `/` bind tighter than `+` and `-`, and all four are left associative. A run of one
  # operator at one level is one operation with all the operands: `1 - 2 - 3` is
  # subtract(1, 2, 3), `1 - 2 + 3` is add(subtract(1, 2), 3). Parentheses make no node of their
  # own but are never merged across: `(1 - 2) - 3` is subtract(subtract(1, 2), 3). Unary minus
  # binds tightest and is always a `negate` node, also before a number: `-2 * x` is
  # multiply(negate(2), x), and a parsed literal is never negative. The tree is always within
  # `evaluate`'s limits. INVALID_ARGUMENT, saying what went wrong and at which byte offset, for:
  # text longer than 4096 bytes, nothing to parse, a character outside the grammar, a malformed
  # number or one a Float64 cannot hold (1e999, 1e-999), unbalanced parentheses, a missing
  # operand or operator, parentheses and unary minus nested more than 32 deep, a tree deeper
  # than 32 levels or with more than 1000 nodes.

  evaluate @6 (expression :Expression, variables :List(Variable)) -> (value :Float64);
  # The value of the expression, a variable taking its value from `variables`. INVALID_ARGUMENT
  # for: more than 1000 variables, two of one name, or one whose value is not finite; a variable
  # name (here or in the tree) longer than 4096 bytes; a tree deeper than 32 levels (the root is
  # level 1) or with more than 1000 nodes (counted as visited); an operation with fewer than two
  # operands; an operator or union member this server does not know; a literal that is not
  # finite; a variable not in `variables` ("unknown variable 'x'"); a divisor that is zero
  # ("division by zero"). OUT_OF_RANGE when a step's value is not finite (an overflow). The
  # variables and the whole tree are checked before any arithmetic.
}

interface Session {
  # A small in-memory map that lives as long as the session door.

  put @0 (key :Text, value :Data) -> ();
  # Stores value under key, replacing what was there.

  get @1 (key :Text) -> (value :Data);
  # The value stored under key; NOT_FOUND when there is none.
}

enum Operator {
  # The operator of an Expression's `operation`.
  add @0;
  subtract @1;
  multiply @2;
  divide @3;
}

struct Expression {
  # An arithmetic expression tree. An Expression nobody set is the literal 0 (the union's first
  # member is its default).
  union {
    literal @0 :Float64;
    # A number.

    variable @1 :Text;
    # The value that `evaluate`'s `variables` gives this name.

    operation :group {
      # `operator` applied to the operands from left to right: subtract(a, b, c) is (a - b) - c.
      operator @2 :Operator;
      operands @3 :List(Expression);
      # Two or more.
    }

    negate @4 :Expression;
    # Minus the operand.
  }
}

struct Variable {
  # A name and the value `evaluate` gives it.
  name @0 :Text;
  value @1 :Float64;
}
