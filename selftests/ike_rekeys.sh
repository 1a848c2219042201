#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# harness: exclusive
#   (ike.sh's short IKE timers)
#
# make check-long: ike.sh's rekeys under a ping every millisecond, 20 of
# each CHILD_SA, without a lost packet or a leftover SA.  make check's
# ike.sh does 3 of each: each rekey costs about 2.5 s of a TCG guest, and
# ike.sh runs alone.
IKE_PHASES=rekey IKE_REKEYS=${IKE_REKEYS:-20} exec "$(dirname "$0")/ike.sh"
