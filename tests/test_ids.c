#include <criterion/criterion.h>
Test(ids, stub) { cr_assert(1); }
