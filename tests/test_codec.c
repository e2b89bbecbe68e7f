#include <criterion/criterion.h>
Test(codec, stub) { cr_assert(1); }
