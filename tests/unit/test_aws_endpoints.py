"""The clients' cut of botocore's endpoint data: current, and resolving exactly as the full data."""

import os

import botocore.session
import pytest
from botocore.config import Config

from tokensmith.aws import endpoints as aws_endpoints


class _Sent(Exception):
    """Raised by the before-send hook: the request was built, and is not sent anywhere."""


def request_of(session, region):
    """The URL and the credential scope of a GetItem that a client of ``session`` would send."""
    client = session.create_client(
        "dynamodb",
        region_name=region,
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"total_max_attempts": 1}),
    )
    seen = {}

    def capture(request, **_):
        seen["url"] = request.url
        seen["scope"] = request.headers["Authorization"].decode().split("Credential=k/")[1].split(",")[0]
        raise _Sent

    client.meta.events.register("before-send.dynamodb.GetItem", capture)
    with pytest.raises(_Sent):
        client.get_item(TableName="t", Key={"pk": {"S": "a"}})
    return client.meta.endpoint_url, client.meta.partition, seen["url"], seen["scope"].split("/", 1)[1]


def test_the_cut_is_current_for_the_installed_botocore():
    # make layer-requirements (or python -m tokensmith.aws.endpoints) regenerates it
    assert aws_endpoints.DATA_FILE.exists()
    import json

    assert json.loads(aws_endpoints.DATA_FILE.read_text()) == aws_endpoints.current()


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "local"])
def test_a_client_on_the_cut_resolves_and_signs_as_one_on_the_full_data(region, monkeypatch):
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    cut, full = aws_endpoints.session(), botocore.session.get_session()

    assert isinstance(cut.get_component("data_loader"), aws_endpoints._CutEndpointsLoader)
    assert request_of(cut, region) == request_of(full, region)


def test_the_cut_leaves_out_every_other_service():
    endpoints = aws_endpoints.session().get_component("data_loader").load_data("endpoints")

    assert {name for partition in endpoints["partitions"] for name in partition["services"]} == set(
        aws_endpoints.SERVICES
    )


@pytest.mark.parametrize("service", ["sqs", "kms", "events"])
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"])
def test_the_webhook_and_publisher_clients_resolve_on_the_cut_as_on_the_full_data(service, region, monkeypatch):
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)

    def endpoint(session):
        client = session.create_client(service, region_name=region, aws_access_key_id="k", aws_secret_access_key="s")
        return client.meta.endpoint_url, client.meta.partition, client.meta.region_name

    assert endpoint(aws_endpoints.session()) == endpoint(botocore.session.get_session())


def test_an_other_botocore_version_gets_the_ordinary_loader(monkeypatch):
    monkeypatch.setattr(botocore, "__version__", "0.0.0")

    assert not isinstance(aws_endpoints.session().get_component("data_loader"), aws_endpoints._CutEndpointsLoader)


def test_a_custom_data_path_gets_the_ordinary_loader(tmp_path, monkeypatch):
    (tmp_path / "endpoints.json").write_text('{"partitions": [], "version": 3}')
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))

    assert not isinstance(aws_endpoints.session().get_component("data_loader"), aws_endpoints._CutEndpointsLoader)
    assert os.environ["AWS_DATA_PATH"] == str(tmp_path)


@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2", "nothing-1"])
def test_the_session_lists_the_services_it_calls_as_botocore_lists_them(type_name):
    full = botocore.session.get_session().get_component("data_loader").list_available_services(type_name)
    listed = aws_endpoints.session().get_component("data_loader").list_available_services(type_name)

    assert listed == [name for name in full if name in aws_endpoints.SERVICES]


def test_the_sessions_clients_load_their_models_without_listing_every_service(monkeypatch):
    # botocore's own listing opens every service's directory; the session's looks at its four only
    opened = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: opened.append(path) or real_listdir(path))

    aws_endpoints.session().create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )

    assert opened and all(os.path.basename(path) in aws_endpoints.SERVICES for path in opened)


def test_a_service_outside_the_list_is_unknown_to_the_session():
    with pytest.raises(botocore.exceptions.UnknownServiceError):
        aws_endpoints.session().create_client("s3", region_name="us-east-1")
