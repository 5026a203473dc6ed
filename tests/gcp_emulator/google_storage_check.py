"""google-cloud-storage against gcp-emulator's Cloud Storage front (STORAGE_EMULATOR_HOST):
upload (multipart), metadata, download, a missing object, a missing bucket, a bad token.
Argument: the emulator's ready line (JSON). Prints one JSON object."""
import json
import os
import sys

import google.api_core.exceptions as gexc
import google.auth.exceptions
import google.oauth2.credentials
from google.cloud import storage

ready = json.loads(sys.argv[1])
os.environ["STORAGE_EMULATOR_HOST"] = ready["endpoint"]
creds = google.oauth2.credentials.Credentials(ready["token"])
client = storage.Client(project="emu-project", credentials=creds)
out = {}
bucket = client.bucket("published")
blob = bucket.blob("dir/app.yaml")
blob.upload_from_string(b"key: ENC[...]\n", content_type="application/x-yaml")
out["uploaded"] = [blob.name, blob.size, blob.content_type, blob.generation is not None]
again = bucket.get_blob("dir/app.yaml")
out["metadata"] = [again.name, again.size, again.crc32c == blob.crc32c]
out["download"] = bucket.blob("dir/app.yaml").download_as_bytes().decode()
out["bucket"] = client.get_bucket("published").name
try:
    bucket.blob("absent").download_as_bytes()
except gexc.NotFound as e:
    out["missing_object"] = e.code
try:
    client.bucket("no-such-bucket").blob("x").upload_from_string(b"x")
except gexc.NotFound as e:
    out["missing_bucket"] = e.code
bad = storage.Client(project="emu-project", credentials=google.oauth2.credentials.Credentials("wrong"))
try:
    bad.bucket("published").blob("y").upload_from_string(b"y")
except gexc.Unauthorized as e:
    out["bad_token"] = e.code
except google.auth.exceptions.RefreshError:
    # The 401 made google-auth try to refresh a bare access token, which it cannot.
    out["bad_token"] = 401
print(json.dumps(out))
