import time, uuid
from tests.e2e.conftest import *  # noqa
def test_speed(admin):
    r = admin.request("POST", "/v1/tokens", json={"name": "x", "organization_id": "o", "scopes": ["tokens:read"]})
    tid = r.json()["token"]["id"]
    for path in ["/v1/tokens/self", f"/v1/tokens/{tid}", "/v1/tokens"]:
        admin.request("GET", path)
        t = time.perf_counter()
        for _ in range(50):
            admin.request("GET", path)
        print(path, (time.perf_counter() - t) / 50 * 1000, "ms")
    s = __import__("requests").Session()
    t = time.perf_counter()
    for _ in range(50):
        s.get(admin.base_url + f"/v1/tokens/{tid}", headers={"Authorization": f"Bearer {admin.secret}"})
    print("session", (time.perf_counter() - t) / 50 * 1000, "ms")
    t = time.perf_counter()
    for i in range(20):
        admin.request("PATCH", f"/v1/tokens/{tid}", json={"description": str(i)})
    print("patch", (time.perf_counter() - t) / 20 * 1000, "ms")
