#!/usr/bin/env bash
# Before `npm test` (package.json's pretest): the cluster test (test/cluster/) starts a
# one-node Slurm of its own, so Debian's slurm-wlm and munge must be installed. As root
# with apt, this installs them; otherwise (not root, no apt, apt failed) it says in one
# line why not and what to run, and exits 1, so npm test stops before the suite: the
# cluster test would fail without them, and it never skips.
set -euo pipefail
need=(munged mungekey slurmctld slurmd sbatch squeue sinfo scancel)
missing=()
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
# One line saying why it cannot install and what to run, as the chromium provisioning does.
cannot() {
  echo "odpsim tests: $1; npm test stops here: the cluster test needs ${missing[*]}." \
    "Install Debian's slurm-wlm and munge as root (apt-get install -y slurm-wlm munge)," \
    "or run \`npm test\` as root, which installs them" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || cannot "not root, so slurm-wlm and munge cannot be installed here"
command -v apt-get >/dev/null 2>&1 || cannot "no apt-get on this machine"
echo "odpsim tests: installing slurm-wlm and munge for the cluster test (apt-get)" >&2
apt-get update -qq || cannot "apt-get update failed"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null ||
  cannot "apt-get install slurm-wlm munge failed"
