"""Starts the agent on a free port and calls it over HTTP: `python3 -m unittest` runs this."""
import importlib.util
import json
import os
import threading
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("agent", os.path.join(HERE, "{{entrypoint}}"))
agent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(agent)


class AgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = agent.serve(port=0, host="127.0.0.1")
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def post(self, body, headers=None):
        request = urllib.request.Request(self.base + "/invocations", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        return urllib.request.urlopen(request, timeout=10)

    def test_answers_a_prompt_with_json(self):
        with self.post({"prompt": "what is Bunker"}, {"X-Bunker-Session-Id": "s-1"}) as response:
            body = json.load(response)
        self.assertEqual(body["status"], "success")
        self.assertEqual(body["result"], {"answer": "You asked: what is Bunker", "words": 3, "session": "s-1"})

    def test_streams_one_frame_per_word(self):
        with self.post({"prompt": "one two three", "stream": True}) as response:
            self.assertIn("text/event-stream", response.headers["Content-Type"])
            text = response.read().decode()
        frames = [json.loads(line[len("data: "):]) for line in text.split("\n") if line.startswith("data: ")]
        self.assertEqual([f["token"] for f in frames], ["one", "two", "three"])
        self.assertTrue(frames[-1]["done"])

    def test_reports_a_missing_prompt_as_an_error(self):
        with self.assertRaises(urllib.error.HTTPError) as raised:
            self.post({})
        self.assertEqual(raised.exception.code, 500)
        self.assertIn("prompt", json.load(raised.exception)["error"])

    def test_is_healthy(self):
        with urllib.request.urlopen(self.base + "/ping", timeout=10) as response:
            self.assertEqual(json.load(response)["status"], "Healthy")


if __name__ == "__main__":
    unittest.main()
