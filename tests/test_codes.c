#include <criterion/criterion.h>
Test(codes, stub) { cr_assert(1); }
