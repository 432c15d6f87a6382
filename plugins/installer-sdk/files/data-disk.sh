#!/bin/bash
# data-disk.sh KIND MOUNT SIZE_GB [SERVICE...]: make the node's data disk (KIND `volume`:
# the block volume the cluster spec asked for; `local-nvme`: the shape's local NVMe) the
# home of MOUNT. Waits up to 10 minutes for an empty whole disk of that kind (no
# partitions, no filesystem, not the root disk) of at least nine tenths of SIZE_GB,
# makes an ext4 filesystem on it, copies what MOUNT holds onto it, and mounts it there
# (and in /etc/fstab), with each SERVICE that runs stopped meanwhile and started again.
#
# Which disk is of which kind: OCI attaches the volume at /dev/oracleoci/oraclevdb; on
# AWS an EBS volume's model is "Amazon Elastic Block Store" and local NVMe's "Amazon EC2
# NVMe Instance Storage"; a local NVMe disk is on the NVMe transport, a volume is not
# instance storage.
set -euo pipefail
if [ $# -lt 3 ] || { [ "$1" != volume ] && [ "$1" != local-nvme ]; }; then
  echo "usage: data-disk.sh volume|local-nvme MOUNT SIZE_GB [SERVICE...]" >&2
  exit 2
fi
kind=$1
mount_point=$2
size_gb=$3
shift 3
if findmnt --mountpoint "$mount_point" >/dev/null; then
  echo "data disk: $mount_point is a mount point already"
  exit 0
fi
root_source=$(findmnt --noheadings --output SOURCE /)
root_disk=$(lsblk --noheadings --output PKNAME "$root_source" | head -n 1)
# A root filesystem on a whole disk has no parent.
root_disk=${root_disk:-$(basename "$root_source")}
min_bytes=$((size_gb * 900000000))
disk=""
for _ in $(seq 120); do
  while read -r name type bytes; do
    if [ "$type" != disk ] || [ "$name" = "$root_disk" ] || [ "$bytes" -lt "$min_bytes" ]; then
      continue
    fi
    if [ "$(lsblk --noheadings --output NAME "/dev/$name" | wc -l)" -ne 1 ] \
      || blkid "/dev/$name" >/dev/null 2>&1; then
      continue
    fi
    model=$(lsblk --nodeps --noheadings --output MODEL "/dev/$name")
    transport=$(lsblk --nodeps --noheadings --output TRAN "/dev/$name")
    if [ "$kind" = volume ]; then
      oci=$(readlink -f /dev/oracleoci/oraclevdb 2>/dev/null || true)
      if [ -n "$oci" ] && [ "$oci" != "/dev/$name" ]; then
        continue
      fi
      case $model in *"Instance Storage"*) continue ;; esac
    else
      case $model in *"Elastic Block Store"*) continue ;; esac
      if [ "$transport" != nvme ]; then
        continue
      fi
    fi
    disk=/dev/$name
    break
  done < <(lsblk --nodeps --noheadings --bytes --output NAME,TYPE,SIZE)
  if [ -n "$disk" ]; then
    break
  fi
  sleep 5
done
if [ -z "$disk" ]; then
  echo "data disk: no empty $kind disk of ${size_gb} GB appeared within 10 minutes" >&2
  exit 1
fi
stopped=()
for service in "$@"; do
  if systemctl is-active --quiet "$service"; then
    systemctl stop "$service"
    stopped+=("$service")
  fi
done
mkfs.ext4 -q -F -L owbench-data -E nodiscard "$disk"
# systemd keeps the state of DynamicUser= services in /var/lib/private, mode 0700.
case $mount_point in
  /var/lib/private/*) install -d -m 0700 /var/lib/private ;;
esac
mkdir -p "$mount_point"
staging=$(mktemp -d)
mount "$disk" "$staging"
cp -a "$mount_point/." "$staging/"
umount "$staging"
rmdir "$staging"
echo "LABEL=owbench-data $mount_point ext4 defaults,noatime,nofail 0 2" >>/etc/fstab
mount "$mount_point"
for service in "${stopped[@]}"; do
  systemctl start "$service"
done
echo "data disk: $kind $disk (${size_gb} GB asked) mounted at $mount_point"
