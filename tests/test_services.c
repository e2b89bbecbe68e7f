#include <criterion/criterion.h>
Test(services, stub) { cr_assert(1); }
