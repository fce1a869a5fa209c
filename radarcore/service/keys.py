"""CurveZMQ key pairs: ``radarcore keys generate NAME --dir DIR``, and loading them.

A key pair is two files in ZeroMQ's certificate format
(``zmq.auth.create_certificates``): ``NAME.key`` holds the public key (give
it to the other side: a radar's to the server's authorised directory, the
server's to every client) and ``NAME.key_secret`` holds both keys (keep it;
it is written readable by its owner only).

The server (``radarcore serve``) takes its own secret file and a directory of
authorised client public files; a client (a radar, ``radarcore emulate``,
``radarcore record``, a subscriber) takes its own secret file and the
server's public file.
"""
import os
import sys

import zmq.auth


class KeyFileError(ValueError):
    """A key file that is missing or not a ZeroMQ certificate of the expected kind."""


def generate_keys(name, directory, overwrite=False):
    """Write a new key pair ``NAME.key`` and ``NAME.key_secret`` in ``directory``.

    Parameters
    ----------
    name : str
        A plain file name (no directory part), e.g. ``"radar-7"`` or ``"server"``.
    directory : str
        Created if missing.
    overwrite : bool
        Replace an existing pair of that name.

    Returns
    -------
    (str, str)
        The public and the secret file paths.

    Raises
    ------
    ValueError
        For a name that is empty, ``.``/``..`` or holds a path separator, or
        an existing pair without ``overwrite``.
    """
    if not isinstance(name, str) or not name or name in (".", "..") or os.sep in name or \
            (os.altsep and os.altsep in name) or "\0" in name:
        raise ValueError(f"key name must be a plain file name, got {name!r}")
    public_path = os.path.join(directory, name + ".key")
    secret_path = os.path.join(directory, name + ".key_secret")
    if not overwrite:
        for path in (public_path, secret_path):
            if os.path.exists(path):
                raise ValueError(f"{path} exists (use --force to replace the key pair)")
    os.makedirs(directory, exist_ok=True)
    public_path, secret_path = zmq.auth.create_certificates(directory, name)
    os.chmod(secret_path, 0o600)
    return public_path, secret_path


def load_key_pair(secret_path):
    """The (public, secret) keys of a ``NAME.key_secret`` file, as Z85 bytes.

    Raises
    ------
    KeyFileError
        If the file is missing, unreadable or holds no secret key.
    """
    public, secret = _load(secret_path)
    if secret is None:
        raise KeyFileError(f"{secret_path}: holds no secret key (expected a NAME.key_secret file "
                           f"written by 'radarcore keys generate')")
    return public, secret


def load_public_key(path):
    """The public key of a ``NAME.key`` (or ``NAME.key_secret``) file, as Z85 bytes.

    Raises
    ------
    KeyFileError
        If the file is missing, unreadable or holds no public key.
    """
    public, _ = _load(path)
    if public is None:
        raise KeyFileError(f"{path}: holds no public key")
    return public


def _load(path):
    if not os.path.isfile(path):
        raise KeyFileError(f"{path}: no such key file")
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise KeyFileError(f"{path}: not a ZeroMQ key file ({e})") from None


def apply_client_keys(socket, secret_path, server_public_path):
    """Make ``socket`` a CurveZMQ client of the server whose public key file is given.

    Call before ``connect``.

    Raises
    ------
    KeyFileError
    """
    public, secret = load_key_pair(secret_path)
    socket.curve_publickey = public
    socket.curve_secretkey = secret
    socket.curve_serverkey = load_public_key(server_public_path)


def add_client_key_arguments(parser):
    """The ``--curve-secret`` and ``--curve-server-key`` options of a client command."""
    parser.add_argument("--curve-secret", metavar="FILE",
                        help="this client's secret key file (NAME.key_secret) for CurveZMQ")
    parser.add_argument("--curve-server-key", metavar="FILE",
                        help="the server's public key file (NAME.key) for CurveZMQ")


def client_keys_from_args(args, command):
    """Check the client key options; (secret, server public) paths or None. Raises KeyFileError."""
    if (args.curve_secret is None) != (args.curve_server_key is None):
        raise KeyFileError(f"radarcore {command}: --curve-secret and --curve-server-key go together")
    if args.curve_secret is None:
        return None
    load_key_pair(args.curve_secret)
    load_public_key(args.curve_server_key)
    return args.curve_secret, args.curve_server_key


# --------------------------------------------------------------------------
# command line

def add_parser(subparsers):
    """Add the ``keys`` command to an ``argparse`` sub-parser set."""
    p = subparsers.add_parser("keys", help="CurveZMQ key pairs for the live service",
                              description="Manage CurveZMQ key pairs.")
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    sub.required = True
    gen = sub.add_parser("generate", help="write NAME.key (public) and NAME.key_secret",
                         description="Write a new key pair: DIR/NAME.key (the public key, to share) "
                                     "and DIR/NAME.key_secret (both keys, owner-readable only).")
    gen.add_argument("name", metavar="NAME", help="key pair name, e.g. server or radar-7")
    gen.add_argument("--dir", default=".", metavar="DIR", help="directory (default: the current one)")
    gen.add_argument("--force", action="store_true", help="replace an existing pair of that name")
    gen.set_defaults(func=run_generate)
    return p


def run_generate(args):
    """Run ``radarcore keys generate``; return the exit status."""
    try:
        public_path, secret_path = generate_keys(args.name, args.dir, overwrite=args.force)
    except (ValueError, OSError) as e:
        print(f"radarcore keys generate: {e}", file=sys.stderr)
        return 2
    print(f"wrote {public_path} (public key: share it)")
    print(f"wrote {secret_path} (secret key: keep it)")
    return 0


__all__ = ["KeyFileError", "generate_keys", "load_key_pair", "load_public_key", "apply_client_keys",
           "add_client_key_arguments", "client_keys_from_args"]
