// The wire contract of the desktop plugin (snake_case, like the seed SDK's SandboxConfig and results).
import { t } from "bunker/core";

export const DesktopId = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });

export const CreateDesktopBody = t.Object({
  template: t.Optional(t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._-]+$" })),
  cpu_count: t.Optional(t.Integer({ minimum: 1, maximum: 8 })),
  memory_mb: t.Optional(t.Integer({ minimum: 512, maximum: 8192 })),
  timeout_seconds: t.Optional(t.Integer({ minimum: 1, maximum: 86_400 })),
  allow_internet_access: t.Optional(t.Boolean()),
  environment: t.Optional(t.Record(t.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), t.String())),
  working_directory: t.Optional(t.String({ minLength: 1, maxLength: 1024 })),
  screen_width: t.Optional(t.Integer({ minimum: 320, maximum: 3840 })),
  screen_height: t.Optional(t.Integer({ minimum: 240, maximum: 2160 })),
  /** Present the screen at XGA/WXGA size and map coordinates back (computer-use style). */
  scaled: t.Optional(t.Boolean()),
});

export const DesktopInfo = t.Object({
  sandbox_id: t.String(),
  user_id: t.String(),
  backend: t.String(),
  template: t.String(),
  status: t.String(),
  cpu_count: t.Integer(),
  memory_mb: t.Integer(),
  timeout_seconds: t.Integer(),
  allow_internet_access: t.Boolean(),
  working_directory: t.String(),
  screen: t.Object({ width: t.Integer(), height: t.Integer() }),
  scaled: t.Boolean(),
  logical_screen: t.Object({ width: t.Integer(), height: t.Integer(), name: t.Union([t.String(), t.Null()]) }),
  isolated: t.Boolean(),
  display: t.Union([t.String(), t.Null()]),
  created_at: t.String(),
  expires_at: t.String(),
});

const Coordinate = t.Integer({ minimum: 0, maximum: 100_000 });
const Button = t.Union([t.Literal("left"), t.Literal("right"), t.Literal("middle")]);

export const ClickBody = t.Object({
  x: t.Optional(Coordinate),
  y: t.Optional(Coordinate),
  button: t.Optional(Button),
  double: t.Optional(t.Boolean()),
});
export const MoveBody = t.Object({ x: Coordinate, y: Coordinate });
export const DragBody = t.Object({
  path: t.Array(t.Object({ x: Coordinate, y: Coordinate }), { minItems: 2, maxItems: 1000 }),
  button: t.Optional(Button),
});
export const ScrollBody = t.Object({
  direction: t.Union([t.Literal("up"), t.Literal("down"), t.Literal("left"), t.Literal("right")]),
  amount: t.Optional(t.Integer({ minimum: 1, maximum: 100 })),
});
export const ButtonBody = t.Object({ button: t.Optional(Button) });

export const TypeBody = t.Object({
  text: t.String({ minLength: 1, maxLength: 100_000 }),
  chunk_size: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
  delay_ms: t.Optional(t.Integer({ minimum: 0, maximum: 1000 })),
});
export const PressBody = t.Object({ key: t.String({ minLength: 1, maxLength: 32 }) });
export const CombinationBody = t.Object({ keys: t.Array(t.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 6 }) });

export const ScreenshotQuery = t.Object({
  format: t.Optional(t.Union([t.Literal("png"), t.Literal("jpeg"), t.Literal("webp")])),
  quality: t.Optional(t.Numeric({ minimum: 1, maximum: 100 })),
  width: t.Optional(t.Numeric({ minimum: 1, maximum: 7680 })),
  height: t.Optional(t.Numeric({ minimum: 1, maximum: 4320 })),
  scale: t.Optional(t.Numeric({ exclusiveMinimum: 0, maximum: 4 })),
  x: t.Optional(t.Numeric({ minimum: 0 })),
  y: t.Optional(t.Numeric({ minimum: 0 })),
  crop_width: t.Optional(t.Numeric({ minimum: 1 })),
  crop_height: t.Optional(t.Numeric({ minimum: 1 })),
  window_id: t.Optional(t.String({ pattern: "^(0x[0-9a-fA-F]+|[0-9]+)$" })),
});

export const FilePathQuery = t.Object({
  path: t.String({ minLength: 1, maxLength: 4096 }),
  encoding: t.Optional(t.Union([t.Literal("utf8"), t.Literal("base64")])),
});
export const WriteFileBody = t.Object({
  path: t.String({ minLength: 1, maxLength: 4096 }),
  content: t.String({ maxLength: 50 * 1024 * 1024 }),
  encoding: t.Optional(t.Union([t.Literal("utf8"), t.Literal("base64")])),
});
export const OpenFileBody = t.Object({ path: t.String({ minLength: 1, maxLength: 4096 }) });

export const LaunchBody = t.Object({
  application: t.String({ minLength: 1, maxLength: 128 }),
  uri: t.Optional(t.String({ maxLength: 4096 })),
});
export const WindowsQuery = t.Object({ application: t.String({ minLength: 1, maxLength: 128 }) });
export const WindowParams = t.Object({ id: t.String(), windowId: t.String({ pattern: "^(0x[0-9a-fA-F]+|[0-9]+)$" }) });

export const CommandBody = t.Object({
  command: t.String({ minLength: 1, maxLength: 100_000 }),
  timeout_seconds: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 3600 })),
});
export const CommandResult = t.Object({
  exit_code: t.Integer(),
  stdout: t.String(),
  stderr: t.String(),
  timed_out: t.Boolean(),
});

export const StartStreamBody = t.Object({
  window_id: t.Optional(t.String({ pattern: "^(0x[0-9a-fA-F]+|[0-9]+)$" })),
  view_only: t.Optional(t.Boolean()),
});
export const StreamInfo = t.Object({
  stream_id: t.String(),
  sandbox_id: t.String(),
  window_id: t.Union([t.String(), t.Null()]),
  view_only: t.Boolean(),
  viewer_url: t.String(),
  token: t.Union([t.String(), t.Null()]),
  token_expires_at: t.Union([t.String(), t.Null()]),
  auth_key: t.Union([t.String(), t.Null()]),
});
export const StreamParams = t.Object({ id: t.String(), streamId: t.String() });

export const CleanupBody = t.Object({
  user_id: t.Optional(t.String({ minLength: 1, maxLength: 128 })),
  all: t.Optional(t.Boolean()),
});
