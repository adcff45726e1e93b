// Key names a caller may press, mapped to X keysyms. Anything outside this list is rejected before it reaches xdotool.

const NAMED: Record<string, string> = {
  enter: "Return", return: "Return", tab: "Tab", space: "space", backspace: "BackSpace", delete: "Delete", del: "Delete",
  escape: "Escape", esc: "Escape", insert: "Insert", home: "Home", end: "End", pageup: "Prior", page_up: "Prior",
  pagedown: "Next", page_down: "Next", up: "Up", down: "Down", left: "Left", right: "Right",
  arrowup: "Up", arrowdown: "Down", arrowleft: "Left", arrowright: "Right",
  ctrl: "ctrl", control: "ctrl", ctrl_l: "Control_L", ctrl_r: "Control_R", alt: "alt", alt_l: "Alt_L", alt_r: "Alt_R",
  shift: "shift", shift_l: "Shift_L", shift_r: "Shift_R", super: "super", meta: "super", win: "super", cmd: "super",
  capslock: "Caps_Lock", caps_lock: "Caps_Lock", numlock: "Num_Lock", scrolllock: "Scroll_Lock", menu: "Menu",
  print: "Print", printscreen: "Print", pause: "Pause", minus: "minus", plus: "plus", equal: "equal",
  comma: "comma", period: "period", slash: "slash", backslash: "backslash", semicolon: "semicolon",
  apostrophe: "apostrophe", grave: "grave", bracketleft: "bracketleft", bracketright: "bracketright",
  volumeup: "XF86AudioRaiseVolume", volumedown: "XF86AudioLowerVolume", mute: "XF86AudioMute",
};

const PUNCTUATION: Record<string, string> = {
  " ": "space", "-": "minus", "+": "plus", "=": "equal", ",": "comma", ".": "period", "/": "slash", "\\": "backslash",
  ";": "semicolon", "'": "apostrophe", "`": "grave", "[": "bracketleft", "]": "bracketright", "!": "exclam",
  "@": "at", "#": "numbersign", "$": "dollar", "%": "percent", "^": "asciicircum", "&": "ampersand", "*": "asterisk",
  "(": "parenleft", ")": "parenright", "_": "underscore", ":": "colon", '"': "quotedbl", "<": "less", ">": "greater",
  "?": "question", "{": "braceleft", "}": "braceright", "|": "bar", "~": "asciitilde",
};

/** Returns the X keysym for a key name, or null when the name is unknown. */
export function keysymOf(name: string): string | null {
  if (name.length === 1) {
    if (/^[A-Za-z0-9]$/.test(name)) return name;
    return PUNCTUATION[name] ?? null;
  }
  const lower = name.toLowerCase();
  if (NAMED[lower]) return NAMED[lower]!;
  const f = /^f([1-9]|1[0-9]|2[0-4])$/.exec(lower);
  if (f) return `F${f[1]}`;
  return null;
}

/** A few names, for error details that say what is accepted. */
export const KEY_EXAMPLES = ["enter", "tab", "escape", "backspace", "ctrl", "alt", "shift", "super", "up", "f5", "a", "1", "-"];
