// Must not compile: in compiled mode the definitions are in the library, and including an -inl
// header would define them a second time (tests/CMakeLists.txt expects the build to fail).
#include <grokscope/detect/detail/grokking-inl.hpp>

int main() { return 0; }
