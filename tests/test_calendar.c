#include <criterion/criterion.h>
Test(calendar, stub) { cr_assert(1); }
