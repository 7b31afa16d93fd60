"""The embedded sink: every mail the worker sends becomes one complete .eml file."""

import asyncio
import email
from email.policy import default
from pathlib import Path

from galaxy_backend.mail import MailService
from galaxy_backend.mail.message import DELIVERY_ID_HEADER
from galaxy_backend.mail.sink import SmtpSink
from galaxy_backend.mail.templates import sign_in_code
from galaxy_backend.postgres import Database
from tests.mail.helpers import WorkerFactory, all_sent, enqueue_many
from tests.support import eventually


async def test_the_sink_stores_each_mail_as_an_eml_file(
    service: MailService, database: Database, make_worker: WorkerFactory, tmp_path: Path
) -> None:
    directory = tmp_path / "data" / "mail"
    sink = SmtpSink(host="127.0.0.1", port=0, directory=directory)
    await sink.start()
    try:
        assert sink.port != 0
        ids = await enqueue_many(service, database, 2)
        async with database.pool.acquire() as conn:
            ids.append(
                await service.enqueue(
                    conn,
                    to="new@example.org",
                    mail=sign_in_code("271828", ttl_minutes=10),
                    kind="sign_in_code",
                    idempotency_key="sign-in:x",
                )
            )
        # The worker is built before the sink has a port; it asks at connect time.
        await make_worker(smtp_port=0, smtp_endpoint=sink.endpoint)

        await eventually(lambda: all_sent(database), message="sent to the sink")
        # The worker still holds its connection open: stop must close it, not wait for it.
        assert sink.open_connections == 1
        await asyncio.wait_for(sink.stop(), 5)
        await eventually(lambda: sink.open_connections == 0, message="the connection closed")
    finally:
        await sink.stop()

    files = sorted(directory.iterdir())
    assert [f.suffix for f in files] == [".eml"] * 3, "no temporary files are left behind"
    messages = [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]
    assert {str(m[DELIVERY_ID_HEADER]) for m in messages} == {str(i) for i in ids}
    [code_mail] = [m for m in messages if m["To"] == "new@example.org"]
    plain = code_mail.get_body(preferencelist=("plain",))
    assert plain is not None and "271828" in plain.get_content()
