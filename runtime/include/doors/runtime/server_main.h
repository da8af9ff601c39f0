// Placeholder: the server main of door server binaries arrives with the examples work.
#pragma once
