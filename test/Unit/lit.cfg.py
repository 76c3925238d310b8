# Runs every GoogleTest binary under <build>/unittests/bin as a lit suite.
import os

import lit.formats

config.name = "SPA-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.spa_obj_root, "unittests", "bin")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
