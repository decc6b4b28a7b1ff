#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_limits
short_description: Set or unset resource limits of a brig jail
version_added: "0.1.0"
description:
  - Sets resource limits in a jail's definition with C(brig limits NAME set),
    or removes them with C(brig limits NAME unset); on a running jail brig
    changes its rctl rules, CPUs and bandwidth at once, without a restart.
  - Only the named resources are touched; the definition's other limits stay.
  - Bandwidth (C(bandwidth_in), C(bandwidth_out)) is set and unset the same
    way; it needs a jail with an address and a network interface (see
    C(brig.toml(5))).
  - A jail named C(set), C(unset) or C(help) is refused, since
    C(brig limits NAME set) cannot name it.
  - brig validates the whole definition before writing it, and a limit
    already at the value asked for changes nothing.
extends_documentation_fragment:
  - brig.core.brig
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - The jail's name.
    type: str
    required: true
  limits:
    description:
      - The limits, each RESOURCE - AMOUNT as C(brig.toml(5)) describes
        them, for example C(memoryuse) - C(1G), C(maxproc) - C(200),
        C(cpus) - C(0-3), C(bandwidth_in) - C(100M).
      - An amount may also be a mapping with C(amount), C(action) and C(per).
      - With O(state=absent) only the names count.
    type: dict
    required: true
  state:
    description:
      - V(present) sets the limits.
      - V(absent) unsets those of the named resources that the jail has.
    type: str
    choices: [present, absent]
    default: present
notes:
  - A limit that M(brig.core.brig_jail) also sets through a definition is put
    back by it on each run; let one of the two own it.
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
seealso:
  - module: brig.core.brig_jail
'''

EXAMPLES = r'''
- name: More memory and fewer processes for web
  brig.core.brig_limits:
    name: web
    limits:
      memoryuse: 2G
      maxproc: 200

- name: Log, rather than throttle, reads above 10 MB/s
  brig.core.brig_limits:
    name: web
    limits:
      readbps:
        amount: 10M
        action: log

- name: No CPU pinning any more
  brig.core.brig_limits:
    name: web
    limits:
      cpus:
    state: absent
'''

RETURN = r'''
effect:
  description:
    - What brig said of the change - V(unchanged), V(pending) (check mode),
      V(stopped), V(not-brigs), V(live) or V(live-but-bandwidth) (a
      bandwidth limit that waits for a restart).
  returned: when brig was asked to change something
  type: str
  sample: live
limits:
  description:
    - The jail's limits as C(brig limits NAME --json) shows them afterwards
      (in check mode, before); amounts are numbers, in bytes for sizes.
  returned: always
  type: list
  elements: dict
  sample:
    - resource: memoryuse
      amount: 1073741824
      action: deny
      per_process: false
      active: true
      rule: "jail:web:memoryuse:deny=1073741824"
      usage: 0
cpus:
  description:
    - The jail's CPU list, or null.
  returned: always
  type: str
  sample: "0-3"
bandwidth:
  description:
    - The jail's bandwidth limits in bit/s, C(in) (what reaches it) and
      C(out) (what it sends), 0 for a way that is not limited; null when it
      has none.
    - In a diff they read as C(bandwidth_in) and C(bandwidth_out), with K, M
      and G as powers of 1000, as C(brig.toml(5)) reads them; sizes of
      the other limits read with powers of 1024.
  returned: always
  type: dict
  sample:
    in: 100000000
    out: 0
'''

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec, toml_value)

# rctl's resources counted in bytes, shown with a suffix in a diff so that
# 1073741824 reads as 1G beside the 2G asked for; brig.toml(5) reads their
# suffixes as powers of 1024.
SIZES = frozenset(['datasize', 'stacksize', 'coredumpsize', 'memoryuse', 'memorylocked',
                   'vmemoryuse', 'swapuse', 'shmsize', 'msgqsize', 'readbps', 'writebps'])
# brig's bandwidth in bit/s, whose K, M and G are powers of 1000 as
# dnctl(8) reads them; brig limits --json has it under "bandwidth", one
# key a way, 0 for no limit that way.
BANDWIDTH = {'bandwidth_in': 'in', 'bandwidth_out': 'out'}
# Words brig limits NAME takes as its subcommands: a jail of that name
# cannot be given to `brig limits NAME set|unset` (clap reads it as the
# subcommand), nor can a name starting with "-", which it reads as a flag.
SUBCOMMANDS = frozenset(['set', 'unset', 'help'])


def units(resource):
    """The suffixes of a resource's amounts and their base, or None."""
    if resource in BANDWIDTH:
        return 'KMG', 1000
    if resource in SIZES:
        return 'KMGTPE', 1024
    return None


def human(resource, amount):
    """An amount of brig's (a number) with the largest suffix that is exact."""
    scale = units(resource)
    if scale and isinstance(amount, int) and amount > 0:
        suffixes, base = scale
        for power in range(len(suffixes), 0, -1):
            if amount % base ** power == 0:
                return '%d%s' % (amount // base ** power, suffixes[power - 1])
    return str(amount)


def normal(resource, amount):
    """An amount asked for as human() shows brig's, so that 1024M and 1G,
    the same amount, read the same in a diff; as written when it is none
    the module can read (brig says what is wrong with it)."""
    scale = units(resource)
    if isinstance(amount, bool) or not scale:
        return str(amount)
    if isinstance(amount, int):
        return human(resource, amount)
    match = re.match(r'^\s*([0-9]+)\s*([A-Za-z]?)\s*$', str(amount))
    if not match or (match.group(2) and match.group(2).upper() not in scale[0]):
        return str(amount)
    number = int(match.group(1))
    if match.group(2):
        number *= scale[1] ** (scale[0].index(match.group(2).upper()) + 1)
    return human(resource, number)


def current(doc):
    """What the jail has now, one line per resource, for a diff."""
    lines = {}
    for row in doc.get('limits') or []:
        resource = row.get('resource')
        text = human(resource, row.get('amount'))
        if row.get('action') not in (None, 'deny'):
            text += ' (%s)' % row['action']
        if row.get('per_process'):
            text += ' per process'
        lines[resource] = text
    if doc.get('cpus') is not None:
        lines['cpus'] = str(doc['cpus'])
    bandwidth = doc.get('bandwidth') or {}
    for resource, way in BANDWIDTH.items():
        if bandwidth.get(way):
            lines[resource] = human(resource, bandwidth[way])
    return lines


def described(resource, amount):
    """An amount asked for, in the words current() uses for brig's."""
    if not isinstance(amount, dict):
        return normal(resource, amount)
    text = normal(resource, amount.get('amount'))
    if amount.get('action') not in (None, 'deny'):
        text += ' (%s)' % amount['action']
    if amount.get('per') not in (None, 'jail'):
        text += ' per %s' % amount['per']
    return text


def render(lines):
    return ''.join('%s = %s\n' % (k, lines[k]) for k in sorted(lines))


def reported(doc):
    """The keys of the result that say what the jail has."""
    return dict(limits=doc.get('limits') or [], cpus=doc.get('cpus'),
                bandwidth=doc.get('bandwidth'))


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str', required=True),
            limits=dict(type='dict', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    if name in SUBCOMMANDS or name.startswith('-'):
        module.fail_json(msg='jail %s: brig limits NAME set|unset cannot name a jail called '
                             '%s (brig reads it as %s); change its limits with '
                             'brig.core.brig_jail and set instead'
                         % (name, name, 'an option' if name.startswith('-') else 'its subcommand'))
    brig = Brig(module)
    dry_run = ['--dry-run'] if module.check_mode else []

    before_doc = brig.json('limits', '--', name)
    before = current(before_doc)
    after = dict(before)
    if p['state'] == 'present':
        pairs = []
        for resource, amount in p['limits'].items():
            if amount is None:
                module.fail_json(msg='limits: %s has no amount; use state=absent to unset it'
                                 % resource)
            try:
                value = toml_value(amount)
            except ValueError as e:
                module.fail_json(msg='limits: %s: %s' % (resource, e))
            pairs.append('%s=%s' % (resource, value))
            after[resource] = described(resource, amount)
        doc = brig.json('limits', name, 'set', *(dry_run + ['--'] + pairs))
    else:
        there = [r for r in p['limits'] if r in before]
        if not there:
            module.exit_json(changed=False, **reported(before_doc))
        for resource in there:
            del after[resource]
        doc = brig.json('limits', name, 'unset', *(dry_run + ['--'] + there))

    changed = bool(doc.get('changed'))
    result = dict(changed=changed, effect=doc.get('effect'))
    final = before_doc
    if changed and not module.check_mode:
        brig.did('the limits of jail %s were changed' % name)
        final = brig.json('limits', '--', name)
    result.update(reported(final))
    if changed and module._diff:
        result['diff'] = dict(before=render(before), after=render(after),
                              before_header='%s (limits)' % name,
                              after_header='%s (limits)' % name)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
