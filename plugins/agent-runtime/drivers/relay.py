"""Port relay inside an agent's sandbox: a unix socket on the sandbox's /workspace (a host directory) forwarded to
127.0.0.1:PORT in the sandbox's own network namespace. Bytes only, both ways, unbuffered; when either side closes,
both close, so a caller's disconnect reaches the agent. Stands in for the liteboxd gateway's port target."""
import asyncio
import os
import sys

SOCKET, PORT = sys.argv[1], int(sys.argv[2])


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer):
    try:
        agent_reader, agent_writer = await asyncio.open_connection("127.0.0.1", PORT)
    except OSError:
        client_writer.close()
        return
    tasks = [asyncio.ensure_future(pump(client_reader, agent_writer)), asyncio.ensure_future(pump(agent_reader, client_writer))]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
    for writer in (agent_writer, client_writer):
        try:
            writer.close()
        except OSError:
            pass


async def main():
    try:
        os.unlink(SOCKET)
    except FileNotFoundError:
        pass
    server = await asyncio.start_unix_server(handle, path=SOCKET)
    async with server:
        await server.serve_forever()


asyncio.run(main())
