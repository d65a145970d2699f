#!/bin/sh
# adb-scripts/probe.sh — describes the device it runs on as `key=value`
# lines on stdout (one per line; values never hold a newline), for
# harness/devices/probe.cc. Android (getprop, /proc, /sys) and Linux
# (uname, /proc, /sys, /etc/os-release).
#
#   adb shell sh -s < probe.sh        ssh pi5 sh -s < probe.sh
#
# Runs unchanged under Android's mksh + toybox, dash, busybox sh and bash.
# A phone hides many files from the shell user: whatever is missing or
# unreadable gives an empty value or no key, never an error; the script
# always exits 0 unless stdout itself fails.
#
# Speed (< 1 s on a phone): files are read with the `read` builtin and
# globs, never `cat` per file; the output is gathered in one variable and
# printed once, because Android's mksh has no printf builtin and every
# printf would be a fork + exec. The only other processes are one subshell
# for the tab and CR characters, one uname, one getprop (all properties at
# once) and, on device-tree boards, two tr.
#
# Tests point the roots at prepared trees: EB_SYS (/sys), EB_PROC (/proc),
# EB_ETC (/etc), and put a fake getprop first on PATH.
#
# Keys (probe_version=1): os arch abi model soc cpu_model n_cpus
# cpu.N.max_khz features ram_kb os_version kernel governor battery_pct
# battery_status thermal.N.type power_source (repeated) and extras that the
# parser keeps in `raw`: manufacturer abilist fingerprint soc_vendor
# dt_compatible hardware cpu.N.core.

# Everything is inside functions called from the last line, so that the
# whole script is parsed before anything runs: fed through `sh -s`, nothing
# it starts can swallow the rest of the script from stdin (and every
# command that could read stdin gets </dev/null anyway).

eb_init() {
  EB_SYS=${EB_SYS:-/sys}
  EB_PROC=${EB_PROC:-/proc}
  EB_ETC=${EB_ETC:-/etc}
  nl='
'
  # One subshell for both: there is no portable literal for tab or CR.
  ctl=$(printf '\t\r')
  tab=${ctl%?}
  cr=${ctl#?}
  ws=" $tab$cr$nl"
  IFS=" $tab$nl"
  out=
}

# squash TEXT: sets _s to TEXT with every run of blanks (space, tab, CR,
# newline) made one space and the ends trimmed. This is the sanitising: no
# value printed can hold a newline or a CR.
squash() {
  set -f
  IFS=$ws
  # shellcheck disable=SC2086  # splitting on blanks is the point here
  set -- $1
  IFS=' '
  _s=$*
  IFS=" $tab$nl"
  set +f
}

# put KEY VALUE: adds one output line.
put() {
  squash "$2"
  out=$out$1=$_s$nl
}

# rd FILE: sets _r to the first line of FILE, "" when it is missing or
# unreadable (the redirection's own error goes to /dev/null too: stderr is
# set before the file is opened).
rd() {
  _r=
  { IFS= read -r _r; } 2>/dev/null <"$1"
  return 0
}

# rdnum FILE: _r as rd, but "0" unless it is a non-negative integer.
rdnum() {
  rd "$1"
  squash "$_r"
  case $_s in
    '' | *[!0-9]*) _r=0 ;;
    *) _r=$_s ;;
  esac
}

# Android: all properties from one getprop, lines `[key]: [value]`.
read_props() {
  p_model='' p_manufacturer='' p_abi='' p_abilist='' p_soc='' p_soc_vendor=''
  p_platform='' p_chipname='' p_release='' p_sdk='' p_fingerprint=''
  _props=$(getprop 2>/dev/null </dev/null)
  set -f
  IFS=$nl
  for _line in $_props; do
    case $_line in
      '['*']: ['*) ;;
      *) continue ;;
    esac
    _k=${_line%%"]: ["*}
    _k=${_k#\[}
    _v=${_line#*"]: ["}
    _v=${_v%\]}
    case $_k in
      ro.product.model) p_model=$_v ;;
      ro.product.manufacturer) p_manufacturer=$_v ;;
      ro.product.cpu.abi) p_abi=$_v ;;
      ro.product.cpu.abilist) p_abilist=$_v ;;
      ro.soc.model) p_soc=$_v ;;
      ro.soc.manufacturer) p_soc_vendor=$_v ;;
      ro.board.platform) p_platform=$_v ;;
      ro.hardware.chipname) p_chipname=$_v ;;
      ro.build.version.release) p_release=$_v ;;
      ro.build.version.sdk) p_sdk=$_v ;;
      ro.build.fingerprint) p_fingerprint=$_v ;;
    esac
  done
  IFS=" $tab$nl"
  set +f
}

# core_name IMPLEMENTER PART: sets _c to the core's name ("Cortex-A76"), or
# "0x41:0xd0b" for one not in the table. Part numbers as in Linux's
# arch/arm64/include/asm/cputype.h.
core_name() {
  case $1:$2 in
    0x41:0xd03) _c=Cortex-A53 ;;
    0x41:0xd04) _c=Cortex-A35 ;;
    0x41:0xd05) _c=Cortex-A55 ;;
    0x41:0xd07) _c=Cortex-A57 ;;
    0x41:0xd08) _c=Cortex-A72 ;;
    0x41:0xd09) _c=Cortex-A73 ;;
    0x41:0xd0a) _c=Cortex-A75 ;;
    0x41:0xd0b) _c=Cortex-A76 ;;
    0x41:0xd0c) _c=Neoverse-N1 ;;
    0x41:0xd0d) _c=Cortex-A77 ;;
    0x41:0xd0e) _c=Cortex-A76AE ;;
    0x41:0xd40) _c=Neoverse-V1 ;;
    0x41:0xd41) _c=Cortex-A78 ;;
    0x41:0xd42) _c=Cortex-A78AE ;;
    0x41:0xd44) _c=Cortex-X1 ;;
    0x41:0xd46) _c=Cortex-A510 ;;
    0x41:0xd47) _c=Cortex-A710 ;;
    0x41:0xd48) _c=Cortex-X2 ;;
    0x41:0xd49) _c=Neoverse-N2 ;;
    0x41:0xd4b) _c=Cortex-A78C ;;
    0x41:0xd4c) _c=Cortex-X1C ;;
    0x41:0xd4d) _c=Cortex-A715 ;;
    0x41:0xd4e) _c=Cortex-X3 ;;
    0x41:0xd4f) _c=Neoverse-V2 ;;
    0x41:0xd80) _c=Cortex-A520 ;;
    0x41:0xd81) _c=Cortex-A720 ;;
    0x41:0xd82) _c=Cortex-X4 ;;
    0x41:0xd84) _c=Neoverse-V3 ;;
    0x41:0xd85) _c=Cortex-X925 ;;
    0x41:0xd87) _c=Cortex-A725 ;;
    0x41:0xd8e) _c=Neoverse-N3 ;;
    # Qualcomm's own names for its semi-custom cores (Snapdragon 835-855).
    0x51:0x800) _c=Kryo-2xx-Gold ;;
    0x51:0x801) _c=Kryo-2xx-Silver ;;
    0x51:0x802) _c=Kryo-3xx-Gold ;;
    0x51:0x803) _c=Kryo-3xx-Silver ;;
    0x51:0x804) _c=Kryo-4xx-Gold ;;
    0x51:0x805) _c=Kryo-4xx-Silver ;;
    0x51:0x001) _c=Oryon ;;
    *) _c=$1:$2 ;;
  esac
}

# /proc/cpuinfo: x86's first `model name` and `flags`; ARM's `Features` and
# each processor's implementer and part (a big.LITTLE phone has several).
read_cpuinfo() {
  ci_model='' ci_features='' ci_hardware='' ci_uarch='' ci_cores='' ci_nproc=0
  _cur='' _impl='' _seen=''
  while IFS= read -r _line || [ -n "$_line" ]; do
    case $_line in
      *:*) ;;
      *)
        # A blank line ends a processor block; x86 repeats the same model
        # and flags for every processor, so one block is enough there
        # (a 192-core server's cpuinfo is 300 KB) unless sysfs had no CPUs
        # and they must be counted here.
        if [ -n "$ci_model" ] && [ -n "$ci_features" ] && [ -z "$_impl" ] &&
          [ "$sys_ncpus" -gt 0 ]; then
          break
        fi
        continue
        ;;
    esac
    squash "${_line%%:*}"
    _k=$_s
    squash "${_line#*:}"
    case $_k in
      processor)
        _cur=$_s
        ci_nproc=$((ci_nproc + 1))
        ;;
      'model name') [ -n "$ci_model" ] || ci_model=$_s ;;
      Features | flags) [ -n "$ci_features" ] || ci_features=$_s ;;
      isa) [ -n "$ci_features" ] || ci_features=$_s ;;
      uarch) [ -n "$ci_uarch" ] || ci_uarch=$_s ;;
      Hardware) ci_hardware=$_s ;;
      'CPU implementer') _impl=$_s ;;
      'CPU part')
        core_name "$_impl" "$_s"
        case $_cur in
          '' | *[!0-9]*) ;;
          *) eval "ci_core_$_cur=\$_c" ;;
        esac
        # Distinct core names in processor order: "Cortex-A510 + Cortex-X3".
        case " + $_seen + " in
          *" + $_c + "*) ;;
          *) _seen=${_seen:+$_seen + }$_c ;;
        esac
        ;;
    esac
  done 2>/dev/null <"$EB_PROC/cpuinfo"
  ci_cores=$_seen
}

read_ram() {
  ram_kb=
  while IFS= read -r _line; do
    case $_line in
      MemTotal:*)
        squash "${_line#MemTotal:}"
        ram_kb=${_s%% *}
        break
        ;;
    esac
  done 2>/dev/null <"$EB_PROC/meminfo"
}

read_os_release() {
  os_pretty=
  while IFS= read -r _line || [ -n "$_line" ]; do
    case $_line in
      PRETTY_NAME=*)
        squash "${_line#PRETTY_NAME=}"
        os_pretty=${_s#[\"\']}
        os_pretty=${os_pretty%[\"\']}
        break
        ;;
    esac
  done 2>/dev/null <"$EB_ETC/os-release"
}

# The CPUs sysfs knows (cpu0 ... cpuN, offline ones included, which
# /proc/cpuinfo leaves out): sets sys_ncpus and sys_maxcpu.
count_sysfs_cpus() {
  sys_maxcpu=-1
  sys_ncpus=0
  for _d in "$EB_SYS"/devices/system/cpu/cpu[0-9]*; do
    _i=${_d##*/cpu}
    case $_i in
      '' | *[!0-9]*) continue ;;
    esac
    [ -d "$_d" ] || continue
    sys_ncpus=$((sys_ncpus + 1))
    [ "$_i" -gt "$sys_maxcpu" ] && sys_maxcpu=$_i
  done
}

# n_cpus and each CPU's highest frequency.
put_cpus() {
  _n=$sys_ncpus
  _max=$sys_maxcpu
  _sysfs=1
  if [ "$_n" -eq 0 ]; then
    # No cpu folders (a container hiding /sys): count from cpuinfo.
    _n=$ci_nproc
    _max=$((_n - 1))
    _sysfs=''
  fi
  put n_cpus "$_n"
  _i=0
  while [ "$_i" -le "$_max" ]; do
    _d=$EB_SYS/devices/system/cpu/cpu$_i
    if [ -d "$_d" ] || [ -z "$_sysfs" ]; then
      rdnum "$_d/cpufreq/cpuinfo_max_freq"
      put "cpu.$_i.max_khz" "$_r"
      eval "_c=\${ci_core_$_i-}"
      [ -n "$_c" ] && put "cpu.$_i.core" "$_c"
    fi
    _i=$((_i + 1))
  done
}

# The first power_supply of type Battery. A capacity that cannot be read
# (or is not a number) gives no battery_pct rather than a false 0%.
put_battery() {
  for _d in "$EB_SYS"/class/power_supply/*; do
    rd "$_d/type"
    [ "$_r" = Battery ] || continue
    rd "$_d/capacity"
    squash "$_r"
    case $_s in
      '' | *[!0-9]*) ;;
      *) put battery_pct "$_s" ;;
    esac
    rd "$_d/status"
    put battery_status "$_r"
    return
  done
}

put_thermal() {
  _max=-1
  for _d in "$EB_SYS"/class/thermal/thermal_zone[0-9]*; do
    _i=${_d##*/thermal_zone}
    case $_i in
      '' | *[!0-9]*) continue ;;
    esac
    [ "$_i" -gt "$_max" ] && _max=$_i
  done
  # In numeric order (the glob sorts thermal_zone10 before thermal_zone2).
  _i=0
  while [ "$_i" -le "$_max" ]; do
    _d=$EB_SYS/class/thermal/thermal_zone$_i
    if [ -d "$_d" ]; then
      rd "$_d/type"
      put "thermal.$_i.type" "$_r"
    fi
    _i=$((_i + 1))
  done
}

# has_glob PATTERN...: true when the first pattern matched a file.
has_glob() {
  [ -e "$1" ]
}

# Where power can be read (what the runtime's telemetry will find):
# power_supply entries with a current or power reading, hwmon chips with
# power rails, RAPL zones. Names match the telemetry's source ids.
put_power_sources() {
  for _d in "$EB_SYS"/class/power_supply/*; do
    if [ -e "$_d/current_now" ] || [ -e "$_d/power_now" ]; then
      put power_source "power_supply:${_d##*/}"
    fi
  done
  for _d in "$EB_SYS"/class/hwmon/hwmon*; do
    [ -d "$_d" ] || continue
    if has_glob "$_d"/power[0-9]*_input ||
      { has_glob "$_d"/curr[0-9]*_input && has_glob "$_d"/in[0-9]*_input; }; then
      rd "$_d/name"
      put power_source "hwmon:${_r:-hwmon}/${_d##*/}"
    fi
  done
  # intel-rapl-mmio:* is the same package read another way; the telemetry
  # skips it too, so listing it would promise a second source.
  for _d in "$EB_SYS"/class/powercap/intel-rapl:*; do
    [ -e "$_d" ] && put power_source "rapl:${_d##*/}"
  done
}

eb_main() {
  eb_init

  # uname -r -m prints "release machine" whatever the order asked for.
  _u=$(uname -r -m 2>/dev/null)
  squash "$_u"
  kernel=${_s%% *}
  machine=${_s##* }
  case $machine in
    aarch64 | arm64 | armv8b | aarch64_be) arch=aarch64 ;;
    armv7* | armv8l) arch=armv7 ;;
    x86_64 | amd64) arch=x86_64 ;;
    i[3-6]86) arch=x86 ;;
    riscv64) arch=riscv64 ;;
    *) arch=$machine ;;
  esac

  count_sysfs_cpus
  read_cpuinfo

  os=linux
  model='' soc='' abi=$arch os_version=''
  if command -v getprop >/dev/null 2>&1; then
    os=android
    read_props
    model=$p_model
    soc=${p_soc:-${p_platform:-$p_chipname}}
    [ -n "$p_abi" ] && abi=$p_abi
    os_version=$p_release
    [ -n "$p_sdk" ] && os_version="$os_version (SDK $p_sdk)"
  else
    read_os_release
    os_version=$os_pretty
  fi

  # Device-tree boards (Raspberry Pi, Jetson, RK3588): the model string and
  # the compatible list, NUL-separated, which no shell's read keeps apart.
  _dt=$EB_PROC/device-tree
  [ -e "$_dt/compatible" ] || _dt=$EB_SYS/firmware/devicetree/base
  dt_compat=
  if [ -e "$_dt/compatible" ]; then
    dt_compat=$(tr '\0' ' ' <"$_dt/compatible" 2>/dev/null)
    squash "$dt_compat"
    dt_compat=$_s
  fi
  if [ -z "$model" ] && [ -e "$_dt/model" ]; then
    model=$(tr '\0' '\n' <"$_dt/model" 2>/dev/null)
  fi
  if [ -z "$model" ]; then
    rd "$EB_SYS/class/dmi/id/product_name"
    model=$_r
  fi
  if [ -z "$soc" ] && [ -n "$dt_compat" ]; then
    # The last entry is the SoC ("brcm,bcm2712", "rockchip,rk3588",
    # "nvidia,tegra234"); the vendor prefix adds nothing.
    soc=${dt_compat##* }
    soc=${soc#*,}
  fi

  if [ -n "$ci_cores" ]; then
    cpu_model=$ci_cores
  elif [ -n "$ci_model" ]; then
    cpu_model=$ci_model
  else
    cpu_model=$ci_uarch
  fi

  put probe_version 1
  put os "$os"
  put arch "$arch"
  put abi "$abi"
  put model "$model"
  put soc "$soc"
  put cpu_model "$cpu_model"
  put_cpus
  put features "$ci_features"
  read_ram
  put ram_kb "$ram_kb"
  put os_version "$os_version"
  put kernel "$kernel"
  rd "$EB_SYS/devices/system/cpu/cpu0/cpufreq/scaling_governor"
  put governor "$_r"
  put_battery
  put_thermal
  put_power_sources
  if [ "$os" = android ]; then
    put manufacturer "$p_manufacturer"
    put abilist "$p_abilist"
    put fingerprint "$p_fingerprint"
    put soc_vendor "$p_soc_vendor"
  fi
  [ -n "$dt_compat" ] && put dt_compatible "$dt_compat"
  [ -n "$ci_hardware" ] && put hardware "$ci_hardware"
  printf '%s' "$out"
}

eb_main "$@"
