# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kubeops.jenkins contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE, no stability promise: everything under plugins/module_utils/_jenkins/ is internal to
# kubeops.jenkins and may change at any time without notice. Do not import it from other collections.
