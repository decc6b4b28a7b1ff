#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_release
short_description: Fetch or destroy a FreeBSD release for brig's jails
version_added: "0.1.0"
description:
  - Makes sure a FreeBSD release is fetched (C(brig release fetch)) or
    destroyed (C(brig release destroy)) on a host managed by brig.
  - Looks at C(brig release list --json) first and acts only when needed.
  - A fetch checks every file against the release's MANIFEST and leaves no
    half release behind on failure.
extends_documentation_fragment:
  - brig.core.brig
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - The release, such as C(14.3-RELEASE).
    type: str
    required: true
  state:
    description:
      - V(fetched) fetches the release when it is not there.
      - V(absent) destroys it; brig refuses while a jail is cloned from it
        and names the jails.
    type: str
    choices: [fetched, absent]
    default: fetched
  source:
    description:
      - Where to fetch from, passed as C(--from) - a URL of a mirror or a
        directory on the managed host holding C(MANIFEST) and the archives.
      - Without it brig downloads from the FreeBSD project.
    type: str
  arch:
    description:
      - The architecture to fetch, passed as C(--arch); brig's default is the
        host's.
      - A release already fetched for another architecture is an error, since
        brig keeps one per name.
    type: str
  pkgbase:
    description:
      - Build the release from base packages (C(--pkgbase)) instead of
        distribution sets.
    type: bool
    default: false
notes:
  - Supports C(check_mode).
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
'''

EXAMPLES = r'''
- name: FreeBSD 14.3 for the jails
  brig.core.brig_release:
    name: 14.3-RELEASE

- name: The same from a local mirror directory
  brig.core.brig_release:
    name: 14.3-RELEASE
    source: /var/mirror/14.3-RELEASE

- name: An old release no jail uses any more
  brig.core.brig_release:
    name: 13.4-RELEASE
    state: absent
'''

RETURN = r'''
release:
  description:
    - The release as C(brig release list --json) shows it afterwards, or
      null when it is absent (in check mode, as it is before).
  returned: always
  type: dict
  sample:
    name: 14.3-RELEASE
    arch: amd64
    kind: dist
    snapshot: zroot/brig/releases/14.3-RELEASE@base
    levels: [base]
    clones: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec)


def find(brig, name):
    for row in brig.releases():
        if row.get('name') == name:
            return row
    return None


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str', required=True),
            state=dict(type='str', default='fetched', choices=['fetched', 'absent']),
            source=dict(type='str'),
            arch=dict(type='str'),
            pkgbase=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    brig = Brig(module)
    release = find(brig, p['name'])

    if p['state'] == 'absent':
        if release is None:
            module.exit_json(changed=False, release=None)
        if not module.check_mode:
            brig.run(['release', 'destroy', '--', p['name']], parse_json=False)
            release = None
        module.exit_json(changed=True, release=release)

    if release is not None:
        if p['arch'] and release.get('arch') not in (None, p['arch']):
            module.fail_json(
                msg='release %s is fetched for %s, not %s; destroy it first to fetch another architecture'
                    % (p['name'], release.get('arch'), p['arch']),
                release=release)
        module.exit_json(changed=False, release=release)

    if not module.check_mode:
        # Options as one --option=VALUE word and the name after --, so that
        # no value of the task's is read as a flag of brig's.
        args = ['release', 'fetch']
        if p['source']:
            args.append('--from=' + p['source'])
        if p['arch']:
            args.append('--arch=' + p['arch'])
        if p['pkgbase']:
            args.append('--pkgbase')
        brig.run(args + ['--', p['name']], parse_json=False)
        release = find(brig, p['name'])
    module.exit_json(changed=True, release=release)


if __name__ == '__main__':
    main()
