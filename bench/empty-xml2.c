/* The floor for any libxml2-based hook: exec of a program that does nothing
 * but is linked against libxml2 (and so loads it and its dependencies). */
#include <libxml/xmlerror.h>

int main(void)
{
        return xmlGetLastError() != 0;
}
