/* t-tabwriter.c - tabwriter against hand-checked cases and the exact bytes
 * of 0.16.2's ls tables (5, 1, 3, ' ') and help text (0, 8, 1, '\t'). */
#include <string.h>

#include "tabwriter.h"
#include "tap.h"

struct tw_case {
	const char *name;
	int minwidth, tabwidth, padding;
	char padchar;
	const char *in, *want;
};

static const struct tw_case cases[] = {
	{ "empty", 0, 1, 1, ' ', "", "" },
	{ "two columns", 0, 1, 1, ' ',
		"a\tb\nccc\td\n", "a   b\nccc d\n" },
	{ "utf-8 width in code points", 0, 1, 1, ' ',
		"\xc3\xa9\tx\nab\ty\n", "\xc3\xa9  x\nab y\n" },
	{ "invalid utf-8 counts bytes", 0, 1, 1, ' ',
		"\xe2\x82\tx\nab\ty\n", "\xe2\x82 x\nab y\n" },
	{ "line without tab breaks the block", 0, 1, 1, ' ',
		"aaaa\tb\nc\n d\te\n", "aaaa b\nc\n d e\n" },
	{ "inner column block is shorter", 0, 1, 1, ' ',
		"a\tb\tc\naa\tbbb\n", "a  b c\naa bbb\n" },
	{ "no trailing newline", 0, 1, 1, ' ', "a\tb", "a b" },
	{ "trailing tab keeps padding", 0, 1, 1, ' ', "a\t\nbbb\t\n", "a   \nbbb \n" },
	{ "lone trailing tab", 0, 1, 1, ' ', "a\t", "a" },
	{ "minwidth", 5, 1, 0, ' ', "a\tb\n", "a    b\n" },
	{ "other padchar", 0, 1, 2, '.', "a\tb\nccc\td\n", "a....b\nccc..d\n" },
	{ "tab padding", 0, 8, 1, '\t',
		"ab\tc\nabcdefghi\td\n", "ab\t\tc\nabcdefghi\td\n" },
	{ "tab padding, tabwidth 0", 0, 0, 1, '\t', "ab\tc\n", "abc\n" },
	{ "vertical tab is a cell end", 0, 1, 1, ' ', "a\vb\nccc\vd\n", "a   b\nccc d\n" },
	{ "form feed breaks the block", 0, 1, 1, ' ',
		"aaaa\tb\fc\td\n", "aaaa b\nc d\n" },
	{ "escaped text is one cell", 0, 1, 1, ' ',
		"\xff" "a\tb\xff\tc\nx\ty\n", "\xff" "a\tb\xff c\nx   y\n" },
	{ "empty cells", 0, 1, 1, ' ', "\t\tx\na\tb\tc\n", "    x\na b c\n" },
	/* 0.16.2 transcripts, raw bytes */
	{ "help_default_storage", 0, 8, 1, '\t',
		"Usage: docker-machine [OPTIONS] COMMAND [arg...]\n"
		"\n"
		"Create and manage machines running Docker.\n"
		"\n"
		"Version: 0.16.2, build bd45ab13\n"
		"\n"
		"Author:\n"
		"  Docker Machine Contributors - <https://github.com/docker/machine>\n"
		"\n"
		"Options:\n"
		"  --debug, -D\tEnable debug mode\n"
		"  --storage-path, -s \"/home/user/.docker/machine\"\tConfigures storage path [$MACHINE_STORAGE_PATH]\n"
		"  --tls-ca-cert \tCA to verify remotes against [$MACHINE_TLS_CA_CERT]\n"
		"  --tls-ca-key \tPrivate key to generate certificates [$MACHINE_TLS_CA_KEY]\n"
		"  --tls-client-cert \tClient cert to use for TLS [$MACHINE_TLS_CLIENT_CERT]\n"
		"  --tls-client-key \tPrivate key used in client TLS auth [$MACHINE_TLS_CLIENT_KEY]\n"
		"  --github-api-token \tToken to use for requests to the Github API [$MACHINE_GITHUB_API_TOKEN]\n"
		"  --native-ssh\tUse the native (Go-based) SSH implementation. [$MACHINE_NATIVE_SSH]\n"
		"  --bugsnag-api-token \tBugSnag API token for crash reporting [$MACHINE_BUGSNAG_API_TOKEN]\n"
		"  --help, -h\tshow help\n"
		"  --version, -v\tprint the version\n"
		"  \n"
		"Commands:\n"
		"  active\tPrint which machine is active\n"
		"  config\tPrint the connection config for machine\n"
		"  create\tCreate a machine\n"
		"  env\tDisplay the commands to set up the environment for the Docker client\n"
		"  inspect\tInspect information about a machine\n"
		"  ip\tGet the IP address of a machine\n"
		"  kill\tKill a machine\n"
		"  ls\tList machines\n"
		"  provision\tRe-provision existing machines\n"
		"  regenerate-certs\tRegenerate TLS Certificates for a machine\n"
		"  restart\tRestart a machine\n"
		"  rm\tRemove a machine\n"
		"  ssh\tLog into or run a command on a machine with SSH.\n"
		"  scp\tCopy files between machines\n"
		"  mount\tMount or unmount a directory from a machine with SSHFS.\n"
		"  start\tStart a machine\n"
		"  status\tGet the status of a machine\n"
		"  stop\tStop a machine\n"
		"  upgrade\tUpgrade a machine to the latest version of Docker\n"
		"  url\tGet the URL of a machine\n"
		"  version\tShow the Docker Machine version or a machine docker version\n"
		"  help\tShows a list of commands or help for one command\n"
		"  \n"
		"Run 'docker-machine COMMAND --help' for more information on a command.\n",
		"Usage: docker-machine [OPTIONS] COMMAND [arg...]\n"
		"\n"
		"Create and manage machines running Docker.\n"
		"\n"
		"Version: 0.16.2, build bd45ab13\n"
		"\n"
		"Author:\n"
		"  Docker Machine Contributors - <https://github.com/docker/machine>\n"
		"\n"
		"Options:\n"
		"  --debug, -D\t\t\t\t\t\tEnable debug mode\n"
		"  --storage-path, -s \"/home/user/.docker/machine\"\tConfigures storage path [$MACHINE_STORAGE_PATH]\n"
		"  --tls-ca-cert \t\t\t\t\tCA to verify remotes against [$MACHINE_TLS_CA_CERT]\n"
		"  --tls-ca-key \t\t\t\t\t\tPrivate key to generate certificates [$MACHINE_TLS_CA_KEY]\n"
		"  --tls-client-cert \t\t\t\t\tClient cert to use for TLS [$MACHINE_TLS_CLIENT_CERT]\n"
		"  --tls-client-key \t\t\t\t\tPrivate key used in client TLS auth [$MACHINE_TLS_CLIENT_KEY]\n"
		"  --github-api-token \t\t\t\t\tToken to use for requests to the Github API [$MACHINE_GITHUB_API_TOKEN]\n"
		"  --native-ssh\t\t\t\t\t\tUse the native (Go-based) SSH implementation. [$MACHINE_NATIVE_SSH]\n"
		"  --bugsnag-api-token \t\t\t\t\tBugSnag API token for crash reporting [$MACHINE_BUGSNAG_API_TOKEN]\n"
		"  --help, -h\t\t\t\t\t\tshow help\n"
		"  --version, -v\t\t\t\t\t\tprint the version\n"
		"  \n"
		"Commands:\n"
		"  active\t\tPrint which machine is active\n"
		"  config\t\tPrint the connection config for machine\n"
		"  create\t\tCreate a machine\n"
		"  env\t\t\tDisplay the commands to set up the environment for the Docker client\n"
		"  inspect\t\tInspect information about a machine\n"
		"  ip\t\t\tGet the IP address of a machine\n"
		"  kill\t\t\tKill a machine\n"
		"  ls\t\t\tList machines\n"
		"  provision\t\tRe-provision existing machines\n"
		"  regenerate-certs\tRegenerate TLS Certificates for a machine\n"
		"  restart\t\tRestart a machine\n"
		"  rm\t\t\tRemove a machine\n"
		"  ssh\t\t\tLog into or run a command on a machine with SSH.\n"
		"  scp\t\t\tCopy files between machines\n"
		"  mount\t\t\tMount or unmount a directory from a machine with SSHFS.\n"
		"  start\t\t\tStart a machine\n"
		"  status\t\tGet the status of a machine\n"
		"  stop\t\t\tStop a machine\n"
		"  upgrade\t\tUpgrade a machine to the latest version of Docker\n"
		"  url\t\t\tGet the URL of a machine\n"
		"  version\t\tShow the Docker Machine version or a machine docker version\n"
		"  help\t\t\tShows a list of commands or help for one command\n"
		"  \n"
		"Run 'docker-machine COMMAND --help' for more information on a command.\n" },
	{ "ls_-h", 0, 8, 1, '\t',
		"Usage: docker-machine ls [OPTIONS] [arg...]\n"
		"\n"
		"List machines\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --quiet, -q\tEnable quiet mode\n"
		"   --filter [--filter option --filter option]\tFilter output based on conditions provided\n"
		"   --timeout, -t \"10\"\tTimeout in seconds, default to 10s\n"
		"   --format, -f \tPretty-print machines using a Go template\n",
		"Usage: docker-machine ls [OPTIONS] [arg...]\n"
		"\n"
		"List machines\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --quiet, -q\t\t\t\t\tEnable quiet mode\n"
		"   --filter [--filter option --filter option]\tFilter output based on conditions provided\n"
		"   --timeout, -t \"10\"\t\t\t\tTimeout in seconds, default to 10s\n"
		"   --format, -f \t\t\t\tPretty-print machines using a Go template\n" },
	{ "create_-h", 0, 8, 1, '\t',
		"Usage: docker-machine create [OPTIONS] [arg...]\n"
		"\n"
		"Create a machine\n"
		"\n"
		"Description:\n"
		"   Run 'docker-machine create --driver name --help' to include the create flags for that driver in the help text.\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --driver, -d \"virtualbox\"\tDriver to create machine with. [$MACHINE_DRIVER]\n"
		"   --engine-env [--engine-env option --engine-env option]\tSpecify environment variables to set in the engine\n"
		"   --engine-insecure-registry [--engine-insecure-registry option --engine-insecure-registry option]\tSpecify insecure registries to allow with the created engine\n"
		"   --engine-install-url \"https://get.docker.com\"\tCustom URL to use for engine installation [$MACHINE_DOCKER_INSTALL_URL]\n"
		"   --engine-label [--engine-label option --engine-label option]\tSpecify labels for the created engine\n"
		"   --engine-opt [--engine-opt option --engine-opt option]\tSpecify arbitrary flags to include with the created engine in the form flag=value\n"
		"   --engine-registry-mirror [--engine-registry-mirror option --engine-registry-mirror option]\tSpecify registry mirrors to use [$ENGINE_REGISTRY_MIRROR]\n"
		"   --engine-storage-driver \tSpecify a storage driver to use with the engine\n"
		"   --swarm\tConfigure Machine to join a Swarm cluster\n"
		"   --swarm-addr \taddr to advertise for Swarm (default: detect and use the machine IP)\n"
		"   --swarm-discovery \tDiscovery service to use with Swarm\n"
		"   --swarm-experimental\tEnable Swarm experimental features\n"
		"   --swarm-host \"tcp://0.0.0.0:3376\"\tip/socket to listen on for Swarm master\n"
		"   --swarm-image \"swarm:latest\"\tSpecify Docker image to use for Swarm [$MACHINE_SWARM_IMAGE]\n"
		"   --swarm-join-opt [--swarm-join-opt option --swarm-join-opt option]\tDefine arbitrary flags for Swarm join\n"
		"   --swarm-master\tConfigure Machine to be a Swarm master\n"
		"   --swarm-opt [--swarm-opt option --swarm-opt option]\tDefine arbitrary flags for Swarm master\n"
		"   --swarm-strategy \"spread\"\tDefine a default scheduling strategy for Swarm\n"
		"   --tls-san [--tls-san option --tls-san option]\tSupport extra SANs for TLS certs\n"
		"   --virtualbox-boot2docker-url \tThe URL of the boot2docker image. Defaults to the latest available version [$VIRTUALBOX_BOOT2DOCKER_URL]\n"
		"   --virtualbox-cpu-count \"1\"\tnumber of CPUs for the machine (-1 to use the number of CPUs available) [$VIRTUALBOX_CPU_COUNT]\n"
		"   --virtualbox-disk-size \"20000\"\tSize of disk for host in MB [$VIRTUALBOX_DISK_SIZE]\n"
		"   --virtualbox-host-dns-resolver\tUse the host DNS resolver [$VIRTUALBOX_HOST_DNS_RESOLVER]\n"
		"   --virtualbox-hostonly-cidr \"192.168.99.1/24\"\tSpecify the Host Only CIDR [$VIRTUALBOX_HOSTONLY_CIDR]\n"
		"   --virtualbox-hostonly-nicpromisc \"deny\"\tSpecify the Host Only Network Adapter Promiscuous Mode [$VIRTUALBOX_HOSTONLY_NIC_PROMISC]\n"
		"   --virtualbox-hostonly-nictype \"82540EM\"\tSpecify the Host Only Network Adapter Type [$VIRTUALBOX_HOSTONLY_NIC_TYPE]\n"
		"   --virtualbox-hostonly-no-dhcp\tDisable the Host Only DHCP Server [$VIRTUALBOX_HOSTONLY_NO_DHCP]\n"
		"   --virtualbox-import-boot2docker-vm \tThe name of a Boot2Docker VM to import [$VIRTUALBOX_BOOT2DOCKER_IMPORT_VM]\n"
		"   --virtualbox-memory \"1024\"\tSize of memory for host in MB [$VIRTUALBOX_MEMORY_SIZE]\n"
		"   --virtualbox-nat-nictype \"82540EM\"\tSpecify the Network Adapter Type [$VIRTUALBOX_NAT_NICTYPE]\n"
		"   --virtualbox-no-dns-proxy\tDisable proxying all DNS requests to the host [$VIRTUALBOX_NO_DNS_PROXY]\n"
		"   --virtualbox-no-share\tDisable the mount of your home directory [$VIRTUALBOX_NO_SHARE]\n"
		"   --virtualbox-no-vtx-check\tDisable checking for the availability of hardware virtualization before the vm is started [$VIRTUALBOX_NO_VTX_CHECK]\n"
		"   --virtualbox-share-folder \tMount the specified directory instead of the default home location. Format: dir:name [$VIRTUALBOX_SHARE_FOLDER]\n"
		"   --virtualbox-ui-type \"headless\"\tSpecify the UI Type: (gui|sdl|headless|separate) [$VIRTUALBOX_UI_TYPE]\n",
		"Usage: docker-machine create [OPTIONS] [arg...]\n"
		"\n"
		"Create a machine\n"
		"\n"
		"Description:\n"
		"   Run 'docker-machine create --driver name --help' to include the create flags for that driver in the help text.\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --driver, -d \"virtualbox\"\t\t\t\t\t\t\t\t\t\tDriver to create machine with. [$MACHINE_DRIVER]\n"
		"   --engine-env [--engine-env option --engine-env option]\t\t\t\t\t\tSpecify environment variables to set in the engine\n"
		"   --engine-insecure-registry [--engine-insecure-registry option --engine-insecure-registry option]\tSpecify insecure registries to allow with the created engine\n"
		"   --engine-install-url \"https://get.docker.com\"\t\t\t\t\t\t\tCustom URL to use for engine installation [$MACHINE_DOCKER_INSTALL_URL]\n"
		"   --engine-label [--engine-label option --engine-label option]\t\t\t\t\t\tSpecify labels for the created engine\n"
		"   --engine-opt [--engine-opt option --engine-opt option]\t\t\t\t\t\tSpecify arbitrary flags to include with the created engine in the form flag=value\n"
		"   --engine-registry-mirror [--engine-registry-mirror option --engine-registry-mirror option]\t\tSpecify registry mirrors to use [$ENGINE_REGISTRY_MIRROR]\n"
		"   --engine-storage-driver \t\t\t\t\t\t\t\t\t\tSpecify a storage driver to use with the engine\n"
		"   --swarm\t\t\t\t\t\t\t\t\t\t\t\tConfigure Machine to join a Swarm cluster\n"
		"   --swarm-addr \t\t\t\t\t\t\t\t\t\t\taddr to advertise for Swarm (default: detect and use the machine IP)\n"
		"   --swarm-discovery \t\t\t\t\t\t\t\t\t\t\tDiscovery service to use with Swarm\n"
		"   --swarm-experimental\t\t\t\t\t\t\t\t\t\t\tEnable Swarm experimental features\n"
		"   --swarm-host \"tcp://0.0.0.0:3376\"\t\t\t\t\t\t\t\t\tip/socket to listen on for Swarm master\n"
		"   --swarm-image \"swarm:latest\"\t\t\t\t\t\t\t\t\t\tSpecify Docker image to use for Swarm [$MACHINE_SWARM_IMAGE]\n"
		"   --swarm-join-opt [--swarm-join-opt option --swarm-join-opt option]\t\t\t\t\tDefine arbitrary flags for Swarm join\n"
		"   --swarm-master\t\t\t\t\t\t\t\t\t\t\tConfigure Machine to be a Swarm master\n"
		"   --swarm-opt [--swarm-opt option --swarm-opt option]\t\t\t\t\t\t\tDefine arbitrary flags for Swarm master\n"
		"   --swarm-strategy \"spread\"\t\t\t\t\t\t\t\t\t\tDefine a default scheduling strategy for Swarm\n"
		"   --tls-san [--tls-san option --tls-san option]\t\t\t\t\t\t\tSupport extra SANs for TLS certs\n"
		"   --virtualbox-boot2docker-url \t\t\t\t\t\t\t\t\tThe URL of the boot2docker image. Defaults to the latest available version [$VIRTUALBOX_BOOT2DOCKER_URL]\n"
		"   --virtualbox-cpu-count \"1\"\t\t\t\t\t\t\t\t\t\tnumber of CPUs for the machine (-1 to use the number of CPUs available) [$VIRTUALBOX_CPU_COUNT]\n"
		"   --virtualbox-disk-size \"20000\"\t\t\t\t\t\t\t\t\tSize of disk for host in MB [$VIRTUALBOX_DISK_SIZE]\n"
		"   --virtualbox-host-dns-resolver\t\t\t\t\t\t\t\t\tUse the host DNS resolver [$VIRTUALBOX_HOST_DNS_RESOLVER]\n"
		"   --virtualbox-hostonly-cidr \"192.168.99.1/24\"\t\t\t\t\t\t\t\tSpecify the Host Only CIDR [$VIRTUALBOX_HOSTONLY_CIDR]\n"
		"   --virtualbox-hostonly-nicpromisc \"deny\"\t\t\t\t\t\t\t\tSpecify the Host Only Network Adapter Promiscuous Mode [$VIRTUALBOX_HOSTONLY_NIC_PROMISC]\n"
		"   --virtualbox-hostonly-nictype \"82540EM\"\t\t\t\t\t\t\t\tSpecify the Host Only Network Adapter Type [$VIRTUALBOX_HOSTONLY_NIC_TYPE]\n"
		"   --virtualbox-hostonly-no-dhcp\t\t\t\t\t\t\t\t\tDisable the Host Only DHCP Server [$VIRTUALBOX_HOSTONLY_NO_DHCP]\n"
		"   --virtualbox-import-boot2docker-vm \t\t\t\t\t\t\t\t\tThe name of a Boot2Docker VM to import [$VIRTUALBOX_BOOT2DOCKER_IMPORT_VM]\n"
		"   --virtualbox-memory \"1024\"\t\t\t\t\t\t\t\t\t\tSize of memory for host in MB [$VIRTUALBOX_MEMORY_SIZE]\n"
		"   --virtualbox-nat-nictype \"82540EM\"\t\t\t\t\t\t\t\t\tSpecify the Network Adapter Type [$VIRTUALBOX_NAT_NICTYPE]\n"
		"   --virtualbox-no-dns-proxy\t\t\t\t\t\t\t\t\t\tDisable proxying all DNS requests to the host [$VIRTUALBOX_NO_DNS_PROXY]\n"
		"   --virtualbox-no-share\t\t\t\t\t\t\t\t\t\tDisable the mount of your home directory [$VIRTUALBOX_NO_SHARE]\n"
		"   --virtualbox-no-vtx-check\t\t\t\t\t\t\t\t\t\tDisable checking for the availability of hardware virtualization before the vm is started [$VIRTUALBOX_NO_VTX_CHECK]\n"
		"   --virtualbox-share-folder \t\t\t\t\t\t\t\t\t\tMount the specified directory instead of the default home location. Format: dir:name [$VIRTUALBOX_SHARE_FOLDER]\n"
		"   --virtualbox-ui-type \"headless\"\t\t\t\t\t\t\t\t\tSpecify the UI Type: (gui|sdl|headless|separate) [$VIRTUALBOX_UI_TYPE]\n" },
	{ "env_-h", 0, 8, 1, '\t',
		"Usage: docker-machine env [OPTIONS] [arg...]\n"
		"\n"
		"Display the commands to set up the environment for the Docker client\n"
		"\n"
		"Description:\n"
		"   Argument is a machine name.\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --swarm\tDisplay the Swarm config instead of the Docker daemon\n"
		"   --shell \tForce environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], default is auto-detect\n"
		"   --unset, -u\tUnset variables instead of setting them\n"
		"   --no-proxy\tAdd machine IP to NO_PROXY environment variable\n",
		"Usage: docker-machine env [OPTIONS] [arg...]\n"
		"\n"
		"Display the commands to set up the environment for the Docker client\n"
		"\n"
		"Description:\n"
		"   Argument is a machine name.\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --swarm\tDisplay the Swarm config instead of the Docker daemon\n"
		"   --shell \tForce environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], default is auto-detect\n"
		"   --unset, -u\tUnset variables instead of setting them\n"
		"   --no-proxy\tAdd machine IP to NO_PROXY environment variable\n" },
	{ "rm_-h", 0, 8, 1, '\t',
		"Usage: docker-machine rm [OPTIONS] [arg...]\n"
		"\n"
		"Remove a machine\n"
		"\n"
		"Description:\n"
		"   Argument(s) are one or more machine names.\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --force, -f\tRemove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)\n"
		"   -y\tAssumes automatic yes to proceed with remove, without prompting further user confirmation\n",
		"Usage: docker-machine rm [OPTIONS] [arg...]\n"
		"\n"
		"Remove a machine\n"
		"\n"
		"Description:\n"
		"   Argument(s) are one or more machine names.\n"
		"\n"
		"Options:\n"
		"   \n"
		"   --force, -f\tRemove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)\n"
		"   -y\t\tAssumes automatic yes to proceed with remove, without prompting further user confirmation\n" },
	{ "ls", 5, 1, 3, ' ',
		"NAME\tACTIVE\tDRIVER\tSTATE\tURL\tSWARM\tDOCKER\tERRORS\n"
		"bar\t-\tnone\tRunning\ttcp://127.0.0.1:52377\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"baz\t-\tnone\tRunning\ttcp://127.0.0.1:52378\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"foo\t-\tnone\tRunning\ttcp://127.0.0.1:52376\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"qux\t-\tnone\tRunning\ttcp://127.0.0.1:52379\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n",
		"NAME   ACTIVE   DRIVER   STATE     URL                     SWARM   DOCKER    ERRORS\n"
		"bar    -        none     Running   tcp://127.0.0.1:52377           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"baz    -        none     Running   tcp://127.0.0.1:52378           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"foo    -        none     Running   tcp://127.0.0.1:52376           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"qux    -        none     Running   tcp://127.0.0.1:52379           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n" },
	{ "ls_broken_configs", 5, 1, 3, ' ',
		"NAME\tACTIVE\tDRIVER\tSTATE\tURL\tSWARM\tDOCKER\tERRORS\n"
		"bar\t-\tnone\tRunning\ttcp://127.0.0.1:52377\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"baz\t-\tnone\tRunning\ttcp://127.0.0.1:52378\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"broken\t\tnot found\tError\t\t\t\tError getting migrated host: unexpected end of JSON input\n"
		"empty\t\tnot found\tError\t\t\t\topen /home/user/.docker/machine/machines/empty/config.json: no such file or directory\n"
		"foo\t-\tnone\tRunning\ttcp://127.0.0.1:52376\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"qux\t-\tnone\tRunning\ttcp://127.0.0.1:52379\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n",
		"NAME     ACTIVE   DRIVER      STATE     URL                     SWARM   DOCKER    ERRORS\n"
		"bar      -        none        Running   tcp://127.0.0.1:52377           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"baz      -        none        Running   tcp://127.0.0.1:52378           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"broken            not found   Error                                               Error getting migrated host: unexpected end of JSON input\n"
		"empty             not found   Error                                               open /home/user/.docker/machine/machines/empty/config.json: no such file or directory\n"
		"foo      -        none        Running   tcp://127.0.0.1:52376           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"qux      -        none        Running   tcp://127.0.0.1:52379           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n" },
	{ "ls_hang_default_timeout", 5, 1, 3, ' ',
		"NAME\tACTIVE\tDRIVER\tSTATE\tURL\tSWARM\tDOCKER\tERRORS\n"
		"bar\t\tnone\tTimeout\t\t\t\t\n"
		"baz\t-\tnone\tRunning\ttcp://127.0.0.1:52378\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"foo\t-\tnone\tRunning\ttcp://127.0.0.1:52376\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n"
		"qux\t-\tnone\tRunning\ttcp://127.0.0.1:52379\t\tUnknown\tUnable to query docker version: Cannot connect to the docker engine endpoint\n",
		"NAME   ACTIVE   DRIVER   STATE     URL                     SWARM   DOCKER    ERRORS\n"
		"bar             none     Timeout                                             \n"
		"baz    -        none     Running   tcp://127.0.0.1:52378           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"foo    -        none     Running   tcp://127.0.0.1:52376           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n"
		"qux    -        none     Running   tcp://127.0.0.1:52379           Unknown   Unable to query docker version: Cannot connect to the docker engine endpoint\n" },
};

static void test_table(void)
{
	struct strbuf out = STRBUF_INIT;
	struct tabwriter tw;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct tw_case *c = &cases[i];
		tw_init(&tw, c->minwidth, c->tabwidth, c->padding, c->padchar);
		tw_write(&tw, c->in);
		sb_reset(&out);
		tw_flush(&tw, &out);
		is_str(out.buf, c->want, "%s", c->name);
		tw_free(&tw);
	}
	sb_release(&out);
}

/* Flush resets: a second table is laid out on its own. */
static void test_flush_twice(void)
{
	struct strbuf out = STRBUF_INIT;
	struct tabwriter tw;

	tw_init(&tw, 0, 1, 1, ' ');
	tw_printf(&tw, "%s\t%d\n", "abcdef", 1);
	tw_flush(&tw, &out);
	tw_write(&tw, "a\tb\n");
	tw_flush(&tw, &out);
	is_str(out.buf, "abcdef 1\na b\n", "flush resets the buffer");
	tw_free(&tw);
	sb_release(&out);
}

/* Many columns on one line must not exhaust the stack. */
static void test_many_columns(void)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	struct tabwriter tw;
	int i;

	for (i = 0; i < 200000; i++)
		sb_adds(&in, "x\t");
	sb_adds(&in, "end\nshort\n");
	tw_init(&tw, 0, 1, 1, ' ');
	tw_write(&tw, in.buf);
	tw_flush(&tw, &out);
	is_int(out.len, 200000 * 2 + 4 + 6, "200000 columns");
	ok(!strncmp(out.buf, "x x x ", 6), "200000 columns: padded");
	tw_free(&tw);
	sb_release(&in);
	sb_release(&out);
}

int main(void)
{
	plan_lazy();
	test_table();
	test_flush_twice();
	test_many_columns();
	return done_testing();
}
