#!/bin/sh
# digitalocean-spec.sh [API_SPECS_DIR] - regenerate tests/fakes/specs/digitalocean/v2-subset.json
# from the shared copy of DigitalOcean's OpenAPI document (default ../shared/api-specs,
# relative to the repository).  The result is committed: CI has no api-specs.
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
specs=${1:-$top/../shared/api-specs}
exec python3 "$top/tests/fakes/tools/openapi-subset.py" \
	"$specs/digitalocean/digitalocean-v2-droplet-subset.bundled.json" \
	"$top/tests/fakes/specs/digitalocean/v2-subset.json" \
	account_get sshKeys_list sshKeys_create sshKeys_get sshKeys_delete \
	droplets_list droplets_create droplets_get droplets_destroy droplets_destroy_byTag \
	dropletActions_post dropletActions_get actions_get images_get regions_list sizes_list \
	--source "digitalocean/openapi commit 7c1300c479fed9c353cda9fc21cd968619552304 (specification/DigitalOcean-public.v2.yaml, bundled), operations subset" \
	--license "Apache-2.0 (Copyright DigitalOcean, LLC); see tests/fakes/specs/digitalocean/NOTICE"
