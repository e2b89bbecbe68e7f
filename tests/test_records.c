#include <criterion/criterion.h>
Test(records, stub) { cr_assert(1); }
