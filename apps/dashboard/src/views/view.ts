// What the router swaps in and out: a view's element, and how to release
// what it holds (streams, timers) when it is left.
export interface View {
  element: HTMLElement;
  destroy(): void;
}
