// Two-row batches of token ids with their attention masks, padded on either side, for tests that
// run every family fixture: a left-padded row (whose first queries see only padding) and a
// right-padded one (whose last real token is before the last column).

/** Row 0 left-padded by three, row 1 full. */
export const LEFT_PADDED = {
  ids: [
    [0, 0, 0, 5, 9, 17, 3],
    [4, 8, 15, 16, 23, 42, 7],
  ],
  mask: [
    [0, 0, 0, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1],
  ],
};

/** Row 0 full, row 1 right-padded by three. */
export const RIGHT_PADDED = {
  ids: [
    [4, 8, 15, 16, 23, 42, 7],
    [5, 9, 17, 3, 0, 0, 0],
  ],
  mask: [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0],
  ],
};
