/* main.c - rollcall CLI: stub. */
int main(void)
{
    return 0;
}
