/* notify main - stub. */
int main(void)
{
    return 0;
}
