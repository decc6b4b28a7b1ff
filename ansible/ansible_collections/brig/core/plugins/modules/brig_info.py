#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_info
short_description: What brig manages on a host - jails, releases, one jail in detail
version_added: "0.1.0"
description:
  - Returns the jails (C(brig list --json)) and releases
    (C(brig release list --json)) of a host, and with O(name) also
    C(brig info NAME --json) of that jail.
  - Never changes anything.
extends_documentation_fragment:
  - brig.core.brig
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - A jail to return in detail as RV(info).
    type: str
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
'''

EXAMPLES = r'''
- name: What runs here
  brig.core.brig_info:
  register: brig

- name: Names of the running jails
  ansible.builtin.debug:
    msg: "{{ brig.jails | selectattr('state', 'eq', 'running') | map(attribute='name') }}"

- name: One jail's definition, live parameters, datasets and mounts
  brig.core.brig_info:
    name: web
  register: web
'''

RETURN = r'''
jails:
  description: The rows of C(brig list --json), defined and running jails.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web
      state: running
      jid: 1
      ip: [192.0.2.10]
      release: 14.3-RELEASE
      type: thin
      boot: true
      managed: true
releases:
  description: The rows of C(brig release list --json).
  returned: always
  type: list
  elements: dict
  sample:
    - name: 14.3-RELEASE
      arch: amd64
      kind: dist
      clones: [web]
info:
  description:
    - C(brig info NAME --json) of the jail O(name) - its definition, live
      parameters, datasets and mounts.
  returned: when O(name) is given
  type: dict
  sample:
    name: web
    state: running
    jid: 1
    file: /usr/local/etc/brig/jails/web.toml
    definition: {hostname: web, release: 14.3-RELEASE}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec)


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    brig = Brig(module)
    result = dict(changed=False, jails=brig.jails(), releases=brig.releases())
    if module.params['name']:
        info = brig.json('info', '--', module.params['name'])
        info.pop('version', None)
        result['info'] = info
    module.exit_json(**result)


if __name__ == '__main__':
    main()
