#!/usr/bin/env bash
# Before `npm test` (package.json's pretest): the cluster test (test/cluster/) starts a
# one-node Slurm of its own, so Debian's slurm-wlm and munge must be installed. As root
# with apt, this installs them; otherwise it says what to install and fails, since the
# test fails without them rather than skip.
set -euo pipefail
need=(munged mungekey slurmctld slurmd sbatch squeue sinfo scancel)
missing=()
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-slurm: installing slurm-wlm and munge for the cluster test" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  exit 0
fi
echo "ensure-slurm: the cluster test needs ${missing[*]}: sudo apt-get install slurm-wlm munge" >&2
exit 1
