#include <criterion/criterion.h>
Test(date, stub) { cr_assert(1); }
