/* metrics.c - stub */
typedef int rollcall_stub_t;
