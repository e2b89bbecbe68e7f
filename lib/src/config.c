/* config.c - stub, being written. */
typedef int rollcall_stub_t;
