#!/bin/sh
# adb-scripts/restore.sh — undoes what prepare.sh did, from its state file,
# and nothing else.
#
#   adb shell sh -s state=/data/local/tmp/edgebench/prepare.state < restore.sh
#
# Options, as environment variables or `key=value` arguments:
#   state=$EB_WORK/prepare.state   (EB_WORK as in prepare.sh)
# EB_SYS (/sys) is for tests.
#
# Entries are undone last first. Once all are, the state file is removed,
# so a second restore finds nothing to do. Entries that could not be undone
# stay in the file (exit 1) for another try.
#
# Prints `restore: ...` lines. Exit: 0 restored or nothing to restore,
# 1 some entries could not be restored, 2 a bad option.
#
# Runs under Android's mksh + toybox, dash, busybox sh and bash; the body is
# in functions so that `sh -s` parses it whole before running anything.

say() {
  echo "restore: $*"
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

screen_is_on() {
  _p=$(dumpsys power 2>/dev/null </dev/null)
  case $_p in
    *mWakefulness=Awake* | *"Display Power: state=ON"*) return 0 ;;
  esac
  return 1
}

# undo KEY VALUE: puts one entry back; false when it could not.
undo() {
  case $1 in
    screen_was_on)
      command -v input >/dev/null 2>&1 || { say "screen: no input command"; return 1; }
      if screen_is_on; then
        say "screen: already on"
        return 0
      fi
      _sdk=$(getprop ro.build.version.sdk 2>/dev/null </dev/null)
      is_uint "$_sdk" || _sdk=0
      # KEYCODE_WAKEUP (API 20+) only turns it on; 26 toggles, and the
      # screen is off here.
      if [ "$_sdk" -ge 20 ] || [ "$_sdk" -eq 0 ]; then
        input keyevent KEYCODE_WAKEUP </dev/null >/dev/null 2>&1
      else
        input keyevent 26 </dev/null >/dev/null 2>&1
      fi
      say "screen: turned back on"
      ;;
    stay_on_while_plugged_in)
      is_uint "$2" || { say "stay_on_while_plugged_in: bad saved value '$2'"; return 1; }
      command -v settings >/dev/null 2>&1 || { say "stay_on_while_plugged_in: no settings command"; return 1; }
      settings put global stay_on_while_plugged_in "$2" </dev/null >/dev/null 2>&1 ||
        { say "stay_on_while_plugged_in: settings put failed"; return 1; }
      say "stay_on_while_plugged_in: back to $2"
      ;;
    governor.policy[0-9]* | governor.cpu[0-9]*)
      _n=${1#governor.}
      case $_n in
        policy*) _f=$EB_SYS/devices/system/cpu/cpufreq/$_n/scaling_governor ;;
        *) _f=$EB_SYS/devices/system/cpu/$_n/cpufreq/scaling_governor ;;
      esac
      case $_n$2 in
        *[!a-z0-9_-]*) say "$1: bad entry"; return 1 ;;
      esac
      { echo "$2" >"$_f"; } 2>/dev/null
      rd "$_f"
      if [ "$_r" != "$2" ]; then
        say "governor: $_n could not be set back to $2 (is ${_r:-unreadable})"
        return 1
      fi
      say "governor: $_n back to $2"
      ;;
    service.*)
      _s=${1#service.}
      case $_s in
        '' | *[!A-Za-z0-9._-]*) say "$1: bad entry"; return 1 ;;
      esac
      command -v start >/dev/null 2>&1 || { say "service $_s: no start command"; return 1; }
      start "$_s" </dev/null >/dev/null 2>&1
      say "service: started $_s"
      ;;
    *)
      say "unknown entry '$1=$2' (left in the state file)"
      return 1
      ;;
  esac
  return 0
}

eb_main() {
  EB_SYS=${EB_SYS:-/sys}
  for _a in "$@"; do
    case $_a in
      state=*) state=${_a#state=} ;;
      *) echo "restore: unknown option '$_a' (state=)" >&2; exit 2 ;;
    esac
  done
  if command -v getprop >/dev/null 2>&1; then
    EB_WORK=${EB_WORK:-/data/local/tmp/edgebench}
  else
    EB_WORK=${EB_WORK:-${HOME:-/tmp}/.cache/edgebench}
  fi
  state=${state:-$EB_WORK/prepare.state}
  if [ ! -f "$state" ]; then
    say "nothing to restore ($state does not exist)"
    return 0
  fi

  nl='
'
  # Last first, as an undo should be.
  _rev=''
  while IFS= read -r _l || [ -n "$_l" ]; do
    case $_l in
      '' | '#'*) continue ;;
    esac
    _rev=$_l$nl$_rev
  done <"$state"

  _left=''
  IFS=$nl
  set -f
  for _l in $_rev; do
    case $_l in
      *=*) undo "${_l%%=*}" "${_l#*=}" || _left=$_l$nl$_left ;;
      *) say "malformed entry '$_l' (left in the state file)"; _left=$_l$nl$_left ;;
    esac
  done
  set +f
  unset IFS

  if [ -n "$_left" ]; then
    printf '%s' "$_left" >"$state"
    echo "restore: some entries could not be restored; they are still in $state" >&2
    return 1
  fi
  rm -f "$state"
  say "done ($state removed)"
  return 0
}

eb_main "$@"
