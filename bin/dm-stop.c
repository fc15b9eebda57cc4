/* dm-stop - stop machines (in parallel); see machine_lifecycle in lib/machine.h. */
#include "machine.h"

int main(int argc, char **argv)
{
	return machine_lifecycle_main(argc, argv, "stop");
}
