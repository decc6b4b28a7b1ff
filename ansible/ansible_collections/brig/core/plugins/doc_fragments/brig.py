# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause
"""What every brig.core module's documentation says alike: the brig
binary it runs, how a simulated host is reached, and check mode."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  brig:
    description:
      - The brig binary to run, a name looked up on E(PATH) or a full path.
    type: str
    default: brig
notes:
  - Set E(BRIG_HOST) with the C(environment) keyword to work on a simulated
    host (C(sim:DIR)) instead of the machine's own FreeBSD kernel.
  - A failure after the module already changed something (a jail created,
    then its start failed) reports C(changed=true), with a message that says
    first what was done, such as C(jail web was created but not started),
    then brig's sentence.
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
'''
