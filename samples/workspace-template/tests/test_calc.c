#include <stdio.h>
int add(int a, int b);
int mul(int a, int b);
int main(void) {
  int failures = 0;
  if (add(2, 3) != 5) { printf("add(2,3) != 5\n"); failures++; }
  if (mul(2, 3) != 6) { printf("mul(2,3) != 6\n"); failures++; }
  printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
