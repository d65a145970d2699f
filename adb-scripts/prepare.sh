#!/bin/sh
# adb-scripts/prepare.sh — puts a device in a steady state for benchmarking
# (battery check, screen off, no stay-awake, CPU governor, thermal daemon)
# and records every change it makes in a state file, so that restore.sh
# puts back exactly that and nothing else.
#
#   adb shell sh -s screen_off=1 governor=performance < prepare.sh
#
# Options, as environment variables or `key=value` arguments (arguments
# win):
#   min_battery_pct=20     below this battery level: refuse, exit 3
#   battery_policy=refuse  or `warn`: say so on stderr and go on
#   screen_off=0           1: turn the screen off if it is on (Android)
#   stay_awake_off=0       1: turn off "stay awake while charging" (Android)
#   governor=              e.g. performance: set on every cpufreq policy
#                          (root only)
#   thermal_service_off=0  1: stop the vendor thermal daemon (Android, root
#                          only; best effort)
#   state=$EB_WORK/prepare.state
# EB_WORK defaults to /data/local/tmp/edgebench on Android and
# $HOME/.cache/edgebench elsewhere; EB_SYS (/sys) is for tests.
#
# Prints what it did and skipped as `prepare: ...` lines on stdout.
# Exit: 0 (steps that cannot run here are skipped, with a note), 1 the
# state file cannot be written (then nothing was changed), 2 a bad option,
# 3 battery below min_battery_pct.
#
# The state file holds `key=value` lines. Each is written before the change
# it describes, so a prepare killed half way can still be undone. A key
# already there (an earlier prepare that was never restored) is kept: it
# holds the device's original value, and the current one is ours.
#
# Runs under Android's mksh + toybox, dash, busybox sh and bash; the body is
# in functions so that `sh -s` parses it whole before running anything.

say() {
  echo "prepare: $*"
}

die() {
  echo "prepare: $2" >&2
  exit "$1"
}

# rd FILE: _r = the first line of FILE, "" when missing or unreadable.
rd() {
  _r=''
  { IFS= read -r _r; } 2>/dev/null <"$1"
  return 0
}

is_uint() {
  case $1 in
    '' | *[!0-9]*) return 1 ;;
  esac
  return 0
}

parse_options() {
  for _a in "$@"; do
    case $_a in
      min_battery_pct=* | battery_policy=* | screen_off=* | stay_awake_off=* | \
        governor=* | thermal_service_off=* | state=*)
        # The name comes from the pattern above, never from the argument
        # alone, so this eval assigns one of seven variables and no more.
        eval "${_a%%=*}=\${_a#*=}"
        ;;
      *) die 2 "unknown option '$_a' (min_battery_pct= battery_policy= screen_off= stay_awake_off= governor= thermal_service_off= state=)" ;;
    esac
  done
  min_battery_pct=${min_battery_pct:-20}
  battery_policy=${battery_policy:-refuse}
  screen_off=${screen_off:-0}
  stay_awake_off=${stay_awake_off:-0}
  governor=${governor:-}
  thermal_service_off=${thermal_service_off:-0}
  is_uint "$min_battery_pct" || die 2 "min_battery_pct='$min_battery_pct': expected a whole number"
  case $battery_policy in
    refuse | warn) ;;
    *) die 2 "battery_policy='$battery_policy': expected refuse or warn" ;;
  esac
  for _o in screen_off stay_awake_off thermal_service_off; do
    eval "_v=\$$_o"
    case $_v in
      0 | 1) ;;
      *) die 2 "$_o='$_v': expected 0 or 1" ;;
    esac
  done
  case $governor in
    *[!a-z0-9_-]*) die 2 "governor='$governor': not a governor name" ;;
  esac
}

# state_has KEY: true when the state file already records KEY.
state_has() {
  [ -f "$state" ] || return 1
  while IFS= read -r _l || [ -n "$_l" ]; do
    case $_l in
      "$1="*) return 0 ;;
    esac
  done <"$state"
  return 1
}

# record KEY VALUE: appends KEY=VALUE unless KEY is there already.
record() {
  state_has "$1" && return 0
  printf '%s=%s\n' "$1" "$2" >>"$state" || die 1 "$state: cannot write"
}

check_battery() {
  _pct=''
  for _d in "$EB_SYS"/class/power_supply/*; do
    rd "$_d/type"
    if [ "$_r" = Battery ]; then
      rd "$_d/capacity"
      is_uint "$_r" && _pct=$_r && break
    fi
  done
  if [ -z "$_pct" ] && command -v dumpsys >/dev/null 2>&1; then
    # Some phones hide power_supply from the shell user; the battery
    # service still tells (`  level: 83`).
    _b=$(dumpsys battery 2>/dev/null </dev/null)
    _b=${_b#*level: }
    _b=${_b%%[!0-9]*}
    is_uint "$_b" && _pct=$_b
  fi
  if [ -z "$_pct" ]; then
    say "battery: none found, not checked"
    return
  fi
  if [ "$_pct" -ge "$min_battery_pct" ]; then
    say "battery: ${_pct}% (min_battery_pct=$min_battery_pct)"
  elif [ "$battery_policy" = warn ]; then
    echo "prepare: warning: battery ${_pct}% is below min_battery_pct=$min_battery_pct; going on (battery_policy=warn)" >&2
    say "battery: ${_pct}% below min_battery_pct=$min_battery_pct, going on (battery_policy=warn)"
  else
    die 3 "battery ${_pct}% is below min_battery_pct=$min_battery_pct: charge the device, lower min_battery_pct, or set battery_policy=warn"
  fi
}

# sdk: the Android API level, 0 when unknown.
android_sdk() {
  _sdk=0
  if command -v getprop >/dev/null 2>&1; then
    _sdk=$(getprop ro.build.version.sdk 2>/dev/null </dev/null)
    is_uint "$_sdk" || _sdk=0
  fi
}

screen_is_on() {
  _p=$(dumpsys power 2>/dev/null </dev/null)
  case $_p in
    *mWakefulness=Awake* | *"Display Power: state=ON"*) return 0 ;;
  esac
  return 1
}

step_screen_off() {
  if ! command -v input >/dev/null 2>&1 || ! command -v dumpsys >/dev/null 2>&1; then
    say "screen_off: skipped (no input/dumpsys: not Android)"
    return
  fi
  if ! screen_is_on; then
    say "screen_off: screen already off"
    return
  fi
  record screen_was_on 1
  android_sdk
  # KEYCODE_SLEEP (API 20+) only ever turns the screen off; the power key
  # (26) toggles, which is why the state is checked first.
  if [ "$_sdk" -ge 20 ] || [ "$_sdk" -eq 0 ]; then
    input keyevent KEYCODE_SLEEP </dev/null >/dev/null 2>&1
  else
    input keyevent 26 </dev/null >/dev/null 2>&1
  fi
  if screen_is_on; then
    say "screen_off: sent the sleep key but the screen is still on"
  else
    say "screen_off: screen turned off"
  fi
}

step_stay_awake_off() {
  if ! command -v settings >/dev/null 2>&1 || ! command -v svc >/dev/null 2>&1; then
    say "stay_awake_off: skipped (no settings/svc: not Android)"
    return
  fi
  _v=$(settings get global stay_on_while_plugged_in 2>/dev/null </dev/null)
  # "null" on a device that never set it: the same as 0.
  is_uint "$_v" || _v=0
  if [ "$_v" -eq 0 ]; then
    say "stay_awake_off: stay_on_while_plugged_in already 0"
    return
  fi
  record stay_on_while_plugged_in "$_v"
  svc power stayon false </dev/null >/dev/null 2>&1
  say "stay_awake_off: stay_on_while_plugged_in $_v -> 0"
}

# The cpufreq policies (one per cluster); kernels without policy folders
# have a cpufreq folder per CPU instead.
cpufreq_dirs() {
  _dirs=''
  for _d in "$EB_SYS"/devices/system/cpu/cpufreq/policy[0-9]*; do
    [ -f "$_d/scaling_governor" ] && _dirs="$_dirs $_d"
  done
  if [ -z "$_dirs" ]; then
    for _d in "$EB_SYS"/devices/system/cpu/cpu[0-9]*/cpufreq; do
      [ -f "$_d/scaling_governor" ] && _dirs="$_dirs $_d"
    done
  fi
}

# gov_key DIR: _k = the state key for a cpufreq folder: governor.policy4,
# or governor.cpu2 for .../cpu2/cpufreq.
gov_key() {
  case $1 in
    */cpufreq) _k=${1%/cpufreq} ;;
    *) _k=$1 ;;
  esac
  _k=governor.${_k##*/}
}

step_governor() {
  if [ "$uid" != 0 ]; then
    say "governor: skipped (needs root; uid $uid)"
    return
  fi
  cpufreq_dirs
  if [ -z "$_dirs" ]; then
    say "governor: skipped (no cpufreq under $EB_SYS/devices/system/cpu)"
    return
  fi
  for _d in $_dirs; do
    gov_key "$_d"
    _name=${_k#governor.}
    rd "$_d/scaling_governor"
    _old=$_r
    if [ "$_old" = "$governor" ]; then
      say "governor: $_name already $governor"
      continue
    fi
    rd "$_d/scaling_available_governors"
    case " $_r " in
      "  " | *" $governor "*) ;;
      *)
        say "governor: $_name has no $governor (available: $_r), left $_old"
        continue
        ;;
    esac
    record "$_k" "$_old"
    { echo "$governor" >"$_d/scaling_governor"; } 2>/dev/null
    rd "$_d/scaling_governor"
    if [ "$_r" = "$governor" ]; then
      say "governor: $_name $_old -> $governor"
    else
      say "governor: $_name could not be set to $governor (still ${_r:-unreadable})"
    fi
  done
}

# Vendor daemons that throttle on their own schedule (Qualcomm's
# thermal-engine, Xiaomi's mi_thermald, ...). The thermal HAL itself is
# left alone: the framework depends on it.
thermal_services='thermal-engine vendor.thermal-engine thermald vendor.thermald mi_thermald vendor.mi_thermald thermalserviced'

step_thermal_service_off() {
  if [ "$uid" != 0 ]; then
    say "thermal_service_off: skipped (needs root; uid $uid)"
    return
  fi
  if ! command -v getprop >/dev/null 2>&1 || ! command -v stop >/dev/null 2>&1; then
    say "thermal_service_off: skipped (no getprop/stop: not Android; stop thermald yourself)"
    return
  fi
  _stopped=''
  for _s in $thermal_services; do
    _st=$(getprop "init.svc.$_s" 2>/dev/null </dev/null)
    [ "$_st" = running ] || continue
    record "service.$_s" running
    stop "$_s" </dev/null >/dev/null 2>&1
    _st=$(getprop "init.svc.$_s" 2>/dev/null </dev/null)
    if [ "$_st" = running ]; then
      say "thermal_service_off: $_s would not stop"
    else
      say "thermal_service_off: stopped $_s"
      _stopped=1
    fi
  done
  [ -n "$_stopped" ] || say "thermal_service_off: no known thermal daemon running ($thermal_services)"
}

eb_main() {
  EB_SYS=${EB_SYS:-/sys}
  parse_options "$@"
  if command -v getprop >/dev/null 2>&1; then
    EB_WORK=${EB_WORK:-/data/local/tmp/edgebench}
  else
    EB_WORK=${EB_WORK:-${HOME:-/tmp}/.cache/edgebench}
  fi
  state=${state:-$EB_WORK/prepare.state}
  uid=$(id -u 2>/dev/null </dev/null)

  # The battery check changes nothing, so it comes before the state file:
  # a refusal leaves no trace.
  check_battery

  # Make sure the record can be kept before touching anything.
  case $state in
    */*) mkdir -p "${state%/*}" 2>/dev/null ;;
  esac
  { : >>"$state"; } 2>/dev/null || die 1 "$state: cannot write the state file"

  if [ "$screen_off" = 1 ]; then step_screen_off; fi
  if [ "$stay_awake_off" = 1 ]; then step_stay_awake_off; fi
  if [ -n "$governor" ]; then step_governor; fi
  if [ "$thermal_service_off" = 1 ]; then step_thermal_service_off; fi
  if [ -s "$state" ]; then
    say "state: $state (undo with restore.sh state=$state)"
  else
    # Nothing changed: no state file left behind for restore to find.
    rm -f "$state"
    say "state: nothing changed"
  fi
}

eb_main "$@"
