#include <criterion/criterion.h>
Test(config, stub) { cr_assert(1); }
