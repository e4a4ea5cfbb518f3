/* A Windows program that crashes (an unhandled access violation): .ci/wine
 * runs it through its cargo runner before each suite and requires a
 * non-zero exit status, so that a crashing test binary can never pass.
 * (Wine's default, its debugger winedbg started on the crash, ends the
 * process with status 0.) */
#include <stdio.h>

int main(void)
{
    volatile int *nowhere = 0;
    puts("crash: writing through a null pointer");
    fflush(stdout);
    *nowhere = 1;
    return 0;
}
