"""Hostile inputs every sandbox must stop, with the reasons it may give: shared by the tests and benchmarks.

Codes may hold placeholders that the runner fills with paths and ports of its own host fixture:
``{planted}`` a file the job must not read, change or delete; ``{outside}`` a path outside the job's directory
that must not come to exist; ``{port}`` a listening loopback TCP port that must see no connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadsynth.sandbox.limits import Language

_SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">'


@dataclass(frozen=True)
class HostileCase:
    name: str
    language: Language
    code: str
    expected: tuple[str, ...]  # acceptable reason prefixes, with the audit hook on

    def code_for(self, *, planted: str, outside: str, port: int) -> str:
        return self.code.replace("{planted}", planted).replace("{outside}", outside).replace("{port}", str(port))


def _case(name: str, code: str, *expected: str, language: Language = "matplotlib") -> HostileCase:
    return HostileCase(name, language, code, expected)


HOSTILE: list[HostileCase] = [
    # reading the host
    _case("read_etc_passwd", "print(open('/etc/passwd').read())", "forbidden:read"),
    _case("read_planted", "import matplotlib.pyplot as plt\nplt.title(open('{planted}').read())", "forbidden:read"),
    _case("read_relative", "open('../../../../../../etc/passwd').read()", "forbidden:read"),
    _case("read_after_chdir", "import os\nos.chdir('/')\nopen('etc/passwd').read()", "forbidden:read"),
    _case("read_proc_environ", "open('/proc/self/environ', 'rb').read()", "forbidden:read"),
    _case("read_swallowed", "try:\n    open('/etc/shadow').read()\nexcept Exception:\n    pass\n"
          "import matplotlib.pyplot as plt\nplt.plot([1, 2])", "forbidden:read"),
    _case("list_home", "import os\nprint(os.listdir(os.path.dirname('{planted}')))", "forbidden:read"),
    _case("env_secret", "import os\nraise ValueError(os.environ['CADSYNTH_SANDBOX_SECRET'])", "runtime_error:KeyError"),
    # changing the host
    _case("write_outside", "open('{outside}', 'w').write('escaped')", "forbidden:write"),
    _case("write_os_open", "import os\nos.open('{outside}', os.O_WRONLY | os.O_CREAT)", "forbidden:write"),
    _case("overwrite_planted", "open('{planted}', 'w').write('pwned')", "forbidden:write"),
    _case("remove_planted", "import os\nos.remove('{planted}')", "forbidden:write"),
    _case("rmtree_home", "import os, shutil\nshutil.rmtree(os.path.dirname('{planted}'))", "forbidden:write"),
    _case("symlink_output", "import os\nos.symlink('/etc/passwd', 'out.png')", "forbidden:write"),
    _case("write_proc_mem", "open('/proc/self/mem', 'r+b')", "forbidden:write"),
    # network
    _case("socket_connect", "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)",
          "forbidden:network"),
    _case("urllib_fetch", "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)",
          "forbidden:import"),
    # processes and escapes
    _case("subprocess_run", "import subprocess\nsubprocess.run(['touch', '{outside}'])", "forbidden:process"),
    _case("os_system", "import os\nos.system('touch {outside}')", "forbidden:process"),
    _case("os_fork", "import os\nif os.fork() == 0:\n    open('{outside}', 'w')", "forbidden:process"),
    _case("fork_bomb", "import os\nwhile True:\n    os.fork()", "forbidden:process"),
    _case("dunder_import", "__import__('subprocess').check_output(['id'])", "forbidden:process"),
    _case("os_exec", "import os\nos.execv('/bin/sh', ['sh', '-c', 'touch {outside}'])", "forbidden:process"),
    _case("ctypes_system", "import ctypes\nctypes.CDLL(None).system(b'touch {outside}')", "forbidden:ctypes"),
    _case("ctypes_pythonapi", "import ctypes\nctypes.pythonapi.PyRun_SimpleString(b'import os')", "forbidden:ctypes"),
    _case("kill_worker", "import os\nos.kill(os.getppid(), 9)", "forbidden:signal"),
    _case("gc_walk", "import gc\nprint(len(gc.get_objects()))", "forbidden:introspection"),
    _case("thread", "import threading\nt = threading.Thread(target=print)\nt.start()",
          "runtime_error:RuntimeError"),
    # resources
    _case("infinite_loop", "while True:\n    pass", "cpu_time", "timeout"),
    _case("sleep_forever", "import time\ntime.sleep(3600)", "timeout"),
    _case("allocate_10gb", "x = bytearray(10 * 1024**3)", "memory"),
    _case("numpy_10gb", "import numpy as np\nx = np.ones(10 * 1024**3 // 8)", "memory"),
    _case("write_10gb_file", "chunk = b'0' * 2**20\nwith open('big.bin', 'wb') as f:\n"
          "    for _ in range(10 * 1024):\n        f.write(chunk)", "output_too_large"),
    _case("many_files", "for i in range(100):\n    open(f'f{i}.bin', 'wb').write(b'0' * 2**20)",
          "forbidden:too_many_files"),
    _case("png_bomb", "import struct, zlib\n"  # a header claiming 10^10 pixels: refused before decoding
          "def chunk(kind, data):\n    return struct.pack('>I', len(data)) + kind + data"
          " + struct.pack('>I', zlib.crc32(kind + data))\n"
          "header = struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)\n"
          "open('out.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', header) + chunk(b'IEND', b''))",
          "output_too_large"),
    # broken output and crashes
    _case("not_a_png", "open('out.png', 'wb').write(b'not a png')", "bad_image"),
    _case("segfault", "import faulthandler\nfaulthandler._sigsegv()", "crashed"),
    _case("hard_exit", "import os\nos._exit(0)", "crashed"),
    _case("syntax", "def (:", "syntax_error"),
    _case("nothing_drawn", "x = 1", "no_image"),
    # SVG and DOT that would make the renderer read the host
    _case("svg_file_image", _SVG_OPEN + '<image href="file:///etc/passwd" width="10" height="10"/></svg>',
          "forbidden:external_reference", language="svg"),
    _case("svg_planted_image", _SVG_OPEN + '<image xlink:href="{planted}" width="10" height="10"/></svg>',
          "forbidden:external_reference", language="svg"),
    _case("svg_entity", '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + _SVG_OPEN
          + "<text y='20'>&x;</text></svg>", "forbidden:external_reference", language="svg"),
    _case("svg_css_url", _SVG_OPEN + "<rect width='9' height='9' style=\"fill: url('/etc/passwd')\"/></svg>",
          "forbidden:external_reference", language="svg"),
    _case("svg_huge_canvas", '<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>',
          "memory", language="svg"),
    _case("svg_broken", "<svg", "syntax_error", language="svg"),
    _case("dot_image", 'digraph { a [image="/etc/passwd"] }', "forbidden:external_reference", language="dot"),
    _case("dot_syntax", "digraph { a -> }", "syntax_error", language="dot"),
]
