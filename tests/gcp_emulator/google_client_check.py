"""Validates gcp-emulator with Google's own Python libraries (google-cloud-kms over REST,
google-auth): run as `python google_client_check.py READY_JSON KEY_NAME`; prints one line per
check, `ok <name> ...` or raises. Used by tests/suites/gcp_kms.rs."""
import json
import os
import sys

from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.transport.requests import Request
from google.cloud import kms
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account


def crc32c(data):
    c = 0xFFFFFFFF
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


ready = json.loads(sys.argv[1])
name = sys.argv[2]
opts = ClientOptions(api_endpoint=ready["endpoint"])
scopes = ["https://www.googleapis.com/auth/cloudkms"]


def client(creds):
    return kms.KeyManagementServiceClient(credentials=creds, transport="rest", client_options=opts)


def round_trip(label, creds):
    c = client(creds)
    data = os.urandom(32)
    enc = c.encrypt(request={"name": name, "plaintext": data, "plaintext_crc32c": crc32c(data)})
    assert enc.name.startswith(name + "/cryptoKeyVersions/"), enc.name
    assert enc.verified_plaintext_crc32c
    assert enc.ciphertext_crc32c == crc32c(enc.ciphertext)
    dec = c.decrypt(request={"name": name, "ciphertext": enc.ciphertext,
                             "ciphertext_crc32c": crc32c(enc.ciphertext)})
    assert dec.plaintext == data
    assert dec.plaintext_crc32c == crc32c(data)
    print("ok", label, enc.name.rsplit("/", 1)[1])
    return enc.ciphertext


sa_path = list(ready["service_accounts"].values())[0]
# 1. Service account, self-signed JWT as the bearer (what the KMS client does by default).
sa = service_account.Credentials.from_service_account_file(sa_path, scopes=scopes)
ct = round_trip("self-signed-jwt", sa)
# 2. Service account through the token endpoint (JWT-bearer grant, RS256 verified there).
sa2 = service_account.Credentials.from_service_account_file(sa_path, scopes=scopes)
sa2._always_use_jwt_access = False
sa2.refresh(Request())
assert sa2.token.startswith("ya29.")
round_trip("jwt-bearer-grant", user_credentials.Credentials(sa2.token))
# 3. gcloud-style application-default credentials (authorized_user, refresh-token grant).
info = json.load(open(ready["adc"]))
adc = user_credentials.Credentials(None, refresh_token=info["refresh_token"], token_uri=info["token_uri"],
                                   client_id=info["client_id"], client_secret=info["client_secret"])
adc.refresh(Request())
round_trip("authorized-user", adc)
# 4. The metadata server (GCE_METADATA_HOST points google-auth at the emulator).
os.environ["GCE_METADATA_HOST"] = ready["metadata_host"]
os.environ["GCE_METADATA_IP"] = ready["metadata_host"]
from google.auth import compute_engine  # noqa: E402
gce = compute_engine.Credentials()
gce.refresh(Request())
round_trip("metadata-server", gce)
# 5. Workload-identity federation: an external_account file (file-sourced subject token, STS
#    exchange, service-account impersonation).
from google.auth import identity_pool  # noqa: E402
ext = identity_pool.Credentials.from_info(json.load(open(ready["external_account"])), scopes=scopes)
round_trip("external-account", ext)
# 6. Errors map to the client's exception classes with Google's messages.
def expect(exc, fn, label):
    try:
        fn()
    except exc as e:
        print("ok", label, getattr(e, "code", 401), getattr(e, "message", e))
        return
    raise AssertionError(label + " did not fail")

bad = client(user_credentials.Credentials("ya29.not-a-token"))
# google-auth answers a 401 by refreshing, which a bare token cannot.
from google.auth.exceptions import RefreshError  # noqa: E402
expect((exceptions.Unauthorized, RefreshError), lambda: bad.encrypt(request={"name": name, "plaintext": b"x"}), "unauthenticated")
good = client(user_credentials.Credentials(ready["token"]))
missing = name.rsplit("/", 1)[0] + "/missing"
expect(exceptions.NotFound, lambda: good.encrypt(request={"name": missing, "plaintext": b"x"}), "not-found")
expect(exceptions.BadRequest, lambda: good.decrypt(request={"name": name, "ciphertext": ct[:-1] + bytes([ct[-1] ^ 1])}), "corrupt")
