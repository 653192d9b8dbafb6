/**
 * An augmented red-black interval tree over closed integer intervals [start, last].
 *
 * Models include/linux/interval_tree_generic.h + lib/interval_tree.c (the tree behind
 * mm/interval_tree.c, mmu_interval_notifier and the classic umem_odp per_mm tree). Like
 * the kernel's INTERVAL_TREE_DEFINE, nodes are ordered by `start` and each node caches
 * `subtreeLast`, the largest `last` in its subtree, so an overlap search can skip every
 * subtree that ends before the query begins. Written from the algorithm's description,
 * not from the kernel source.
 *
 * Ordering: nodes with equal `start` keep their insertion order. Insertion sends equal
 * keys right (as the kernel does), so the in-order sequence is by (start, insertion
 * sequence number) and stays so through rotations. Same operations, same order.
 *
 * Mutating while iterating: `iterNext` from a node that has been removed throws. Other
 * mutation during an iteration is not supported (the iteration may then skip or repeat
 * nodes); the kernel's own pattern of fetching the next node before removing the
 * current one does work, because `iterNext` only looks at the tree as it is now.
 */

/** A handle to one interval stored in an {@link IntervalTree}, returned by `insert`. */
export interface IntervalTreeNode<T> {
  /** First point of the closed interval. */
  readonly start: number;
  /** Last point of the closed interval (inclusive, like the kernel's ITLAST). */
  readonly last: number;
  readonly value: T;
}

/** The tree's internal node; callers only ever see it as an {@link IntervalTreeNode}. */
class Node<T> implements IntervalTreeNode<T> {
  // All fields are assigned in the constructor in one fixed order so every node has the
  // same hidden class and the hot loops stay monomorphic.
  readonly start: number;
  readonly last: number;
  readonly value: T;
  /** Insertion sequence number: the tie-break for equal starts, checked by tests. */
  readonly seq: number;
  /** Max `last` over this node's subtree (the kernel's `subtree_last`). */
  subtreeLast: number;
  left: Node<T> | null;
  right: Node<T> | null;
  parent: Node<T> | null;
  red: boolean;
  /** The tree holding this node, or null once removed: how `remove` spots strangers. */
  owner: IntervalTree<T> | null;

  constructor(start: number, last: number, value: T, seq: number, owner: IntervalTree<T>) {
    this.start = start;
    this.last = last;
    this.value = value;
    this.seq = seq;
    this.subtreeLast = last;
    this.left = null;
    this.right = null;
    this.parent = null;
    this.red = true;
    this.owner = owner;
  }
}

function isRed<T>(node: Node<T> | null): boolean {
  return node !== null && node.red;
}

/** Red-black rules guarantee some nodes exist; a null there means the tree is corrupt. */
function must<T>(node: Node<T> | null): Node<T> {
  if (node === null) throw new Error("IntervalTree: corrupt tree (missing node)");
  return node;
}

/** The augmented value from a node's own interval and its children's cached values. */
function ownSubtreeLast<T>(node: Node<T>): number {
  let max = node.last;
  const { left, right } = node;
  if (left !== null && left.subtreeLast > max) max = left.subtreeLast;
  if (right !== null && right.subtreeLast > max) max = right.subtreeLast;
  return max;
}

/**
 * The first node in `node`'s subtree, in order, that overlaps [start, last]. Caller
 * guarantees start <= node.subtreeLast, i.e. some node below can still reach `start`.
 */
function subtreeSearch<T>(from: Node<T>, start: number, last: number): Node<T> | null {
  let node = from;
  for (;;) {
    // Anything in the left subtree sorts earlier, so prefer it whenever it can reach start.
    const left = node.left;
    if (left !== null && start <= left.subtreeLast) {
      node = left;
      continue;
    }
    // Sorted by start: if this node begins after the query ends, so does everything later.
    if (node.start > last) return null;
    if (start <= node.last) return node;
    const right = node.right;
    if (right === null || right.subtreeLast < start) return null;
    node = right;
  }
}

/** See the file comment. Values of type T are stored as given and never inspected. */
export class IntervalTree<T> {
  private root: Node<T> | null = null;
  private count = 0;
  private nextSeq = 0;

  /** Number of intervals stored. */
  get size(): number {
    return this.count;
  }

  isEmpty(): boolean {
    return this.count === 0;
  }

  /**
   * Stores the closed interval [start, last] with `value`; duplicates are kept as
   * separate nodes. Both ends must be safe integers with start <= last.
   */
  insert(start: number, last: number, value: T): IntervalTreeNode<T> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) {
      throw new RangeError(
        `IntervalTree.insert: interval ends must be safe integers, got [${start}, ${last}]`,
      );
    }
    if (last < start) {
      throw new RangeError(`IntervalTree.insert: last (${last}) is before start (${start})`);
    }
    const node = new Node(start, last, value, this.nextSeq++, this);
    let parent: Node<T> | null = null;
    let goLeft = false;
    for (let cur = this.root; cur !== null; cur = goLeft ? cur.left : cur.right) {
      // Every node on the path gains the new interval, so widen its cached max now.
      if (cur.subtreeLast < last) cur.subtreeLast = last;
      parent = cur;
      // Equal starts go right: the newcomer has the highest sequence number.
      goLeft = start < cur.start;
    }
    node.parent = parent;
    if (parent === null) this.root = node;
    else if (goLeft) parent.left = node;
    else parent.right = node;
    this.insertFixup(node);
    this.count++;
    return node;
  }

  /** Removes a node returned by `insert` on this tree; throws if it is not in the tree. */
  remove(handle: IntervalTreeNode<T>): void {
    const node = this.own(handle, "remove");
    const { left, right } = node;
    let removedBlack: boolean;
    let child: Node<T> | null;
    let childParent: Node<T> | null;
    if (left === null || right === null) {
      // At most one child: it simply takes the node's place.
      child = left ?? right;
      childParent = node.parent;
      removedBlack = !node.red;
      this.replaceChild(node, child);
    } else {
      // Two children: relink the in-order successor into the node's place (rather than
      // copying its payload) so every other handle keeps pointing at its own interval.
      let succ = right;
      while (succ.left !== null) succ = succ.left;
      removedBlack = !succ.red;
      child = succ.right;
      if (succ === right) {
        childParent = succ;
      } else {
        childParent = must(succ.parent);
        childParent.left = child;
        if (child !== null) child.parent = childParent;
        succ.right = right;
        right.parent = succ;
      }
      this.replaceChild(node, succ);
      succ.left = left;
      left.parent = succ;
      succ.red = node.red;
    }
    // Every subtree from the splice point up to the root lost an interval: recompute
    // before rebalancing, because the rotations below assume correct cached values.
    for (let n = childParent; n !== null; n = n.parent) n.subtreeLast = ownSubtreeLast(n);
    if (removedBlack) this.deleteFixup(child, childParent);
    node.left = node.right = node.parent = null;
    node.owner = null;
    this.count--;
  }

  /**
   * The first node, ordered by (start, insertion), overlapping the closed range
   * [start, last], or null. Allocates nothing (interval_tree_iter_first).
   */
  iterFirst(start: number, last: number): IntervalTreeNode<T> | null {
    if (!(start <= last)) {
      throw new RangeError(`IntervalTree: query last (${last}) is before start (${start})`);
    }
    const root = this.root;
    if (root === null || root.subtreeLast < start) return null;
    return subtreeSearch(root, start, last);
  }

  /**
   * The next node after `handle` overlapping [start, last] (pass the same range as to
   * `iterFirst`), or null. Walks parent pointers; allocates nothing
   * (interval_tree_iter_next).
   */
  iterNext(handle: IntervalTreeNode<T>, start: number, last: number): IntervalTreeNode<T> | null {
    let node = this.own(handle, "iterNext");
    let right = node.right;
    for (;;) {
      // Later nodes in the right subtree are worth a look only if one reaches `start`.
      if (right !== null && start <= right.subtreeLast) return subtreeSearch(right, start, last);
      // Climb past ancestors we reached from their right side: they were already visited.
      let parent = node.parent;
      while (parent !== null && parent.right === node) {
        node = parent;
        parent = node.parent;
      }
      if (parent === null) return null;
      node = parent;
      // This ancestor is the in-order successor; sorted by start, so stop once past `last`.
      if (node.start > last) return null;
      if (start <= node.last) return node;
      right = node.right;
    }
  }

  /** Calls `fn` on each overlapping node in order. `fn` must not mutate the tree. */
  forEachOverlap(start: number, last: number, fn: (node: IntervalTreeNode<T>) => void): void {
    for (let n = this.iterFirst(start, last); n !== null; n = this.iterNext(n, start, last)) {
      fn(n);
    }
  }

  /** Number of stored intervals overlapping [start, last]; allocates nothing. */
  countOverlaps(start: number, last: number): number {
    let total = 0;
    for (let n = this.iterFirst(start, last); n !== null; n = this.iterNext(n, start, last)) {
      total++;
    }
    return total;
  }

  /**
   * For tests: throws if any red-black, ordering, augmentation, parent-link or size
   * invariant is broken. O(n).
   */
  checkInvariants(): void {
    const root = this.root;
    if (root === null) {
      if (this.count !== 0) throw new Error(`IntervalTree: empty but size is ${this.count}`);
      return;
    }
    if (root.parent !== null) throw new Error("IntervalTree: root has a parent");
    if (root.red) throw new Error("IntervalTree: root is red");
    const state = { seen: 0, prev: null as Node<T> | null };
    this.checkSubtree(root, state);
    if (state.seen !== this.count) {
      throw new Error(`IntervalTree: ${state.seen} nodes reachable but size is ${this.count}`);
    }
  }

  /** Checks `node`'s subtree; returns its black height. Recursion depth is O(log n). */
  private checkSubtree(node: Node<T>, state: { seen: number; prev: Node<T> | null }): number {
    const where = `node [${node.start}, ${node.last}]#${node.seq}`;
    if (node.owner !== this) throw new Error(`IntervalTree: ${where} has the wrong owner`);
    const { left, right } = node;
    if (left !== null && left.parent !== node) throw new Error(`${where}: bad left.parent`);
    if (right !== null && right.parent !== node) throw new Error(`${where}: bad right.parent`);
    if (node.red && (isRed(left) || isRed(right))) throw new Error(`${where}: red-red`);
    const leftHeight = left === null ? 1 : this.checkSubtree(left, state);
    // In-order position: strictly after the previous node by (start, seq).
    const prev = state.prev;
    if (
      prev !== null &&
      (prev.start > node.start || (prev.start === node.start && prev.seq > node.seq))
    ) {
      throw new Error(`IntervalTree: ${where} is out of order after #${prev.seq}`);
    }
    state.prev = node;
    state.seen++;
    const rightHeight = right === null ? 1 : this.checkSubtree(right, state);
    if (leftHeight !== rightHeight) throw new Error(`${where}: unequal black heights`);
    if (node.subtreeLast !== ownSubtreeLast(node)) {
      throw new Error(`${where}: subtreeLast ${node.subtreeLast} != ${ownSubtreeLast(node)}`);
    }
    return leftHeight + (node.red ? 0 : 1);
  }

  /** Narrows a caller's handle to a node of this tree, or throws. */
  private own(handle: IntervalTreeNode<T>, op: string): Node<T> {
    // instanceof also rejects look-alike objects that were never a node of any tree.
    if (!(handle instanceof Node) || handle.owner !== this) {
      throw new Error(`IntervalTree.${op}: node is not in this tree`);
    }
    return handle as Node<T>;
  }

  /** Puts `child` where `node` hangs from its parent (or at the root). */
  private replaceChild(node: Node<T>, child: Node<T> | null): void {
    const parent = node.parent;
    if (child !== null) child.parent = parent;
    if (parent === null) this.root = child;
    else if (parent.left === node) parent.left = child;
    else parent.right = child;
  }

  /** Rotates `right` (x's right child) above x, keeping the cached maxima exact. */
  private rotateLeft(x: Node<T>, right: Node<T>): void {
    const inner = right.left;
    x.right = inner;
    if (inner !== null) inner.parent = x;
    this.replaceChild(x, right);
    right.left = x;
    x.parent = right;
    // The new top spans the same set x used to; x lost right's right subtree.
    right.subtreeLast = x.subtreeLast;
    x.subtreeLast = ownSubtreeLast(x);
  }

  /** Mirror of `rotateLeft`. */
  private rotateRight(x: Node<T>, left: Node<T>): void {
    const inner = left.right;
    x.left = inner;
    if (inner !== null) inner.parent = x;
    this.replaceChild(x, left);
    left.right = x;
    x.parent = left;
    left.subtreeLast = x.subtreeLast;
    x.subtreeLast = ownSubtreeLast(x);
  }

  /** Restores the red-black rules after `node` was linked in red. */
  private insertFixup(node: Node<T>): void {
    let n = node;
    for (;;) {
      const p = n.parent;
      if (p === null) {
        n.red = false; // n is the root, which is always black
        return;
      }
      if (!p.red) return;
      const g = must(p.parent); // a red parent is never the root
      const uncle = p === g.left ? g.right : g.left;
      if (uncle !== null && uncle.red) {
        // Red uncle: push the blackness down from g and continue from g.
        p.red = false;
        uncle.red = false;
        g.red = true;
        n = g;
        continue;
      }
      // Black uncle: at most two rotations end the fixup.
      let top = p;
      if (p === g.left) {
        if (n === p.right) {
          this.rotateLeft(p, n);
          top = n;
        }
        this.rotateRight(g, top);
      } else {
        if (n === p.left) {
          this.rotateRight(p, n);
          top = n;
        }
        this.rotateLeft(g, top);
      }
      top.red = false;
      g.red = true;
      return;
    }
  }

  /** Restores the red-black rules after a black node left the path through `parent`. */
  private deleteFixup(child: Node<T> | null, parent: Node<T> | null): void {
    let x = child;
    let xParent = parent;
    while (x !== this.root && !isRed(x)) {
      const p = must(xParent);
      // x is one black short; its sibling's side must therefore have a node.
      if (x === p.left) {
        let w = must(p.right);
        if (w.red) {
          w.red = false;
          p.red = true;
          this.rotateLeft(p, w);
          w = must(p.right);
        }
        if (!isRed(w.left) && !isRed(w.right)) {
          w.red = true;
          x = p;
          xParent = p.parent;
          continue;
        }
        if (!isRed(w.right)) {
          const wl = must(w.left);
          wl.red = false;
          w.red = true;
          this.rotateRight(w, wl);
          w = wl;
        }
        w.red = p.red;
        p.red = false;
        must(w.right).red = false;
        this.rotateLeft(p, w);
      } else {
        let w = must(p.left);
        if (w.red) {
          w.red = false;
          p.red = true;
          this.rotateRight(p, w);
          w = must(p.left);
        }
        if (!isRed(w.left) && !isRed(w.right)) {
          w.red = true;
          x = p;
          xParent = p.parent;
          continue;
        }
        if (!isRed(w.left)) {
          const wr = must(w.right);
          wr.red = false;
          w.red = true;
          this.rotateLeft(w, wr);
          w = wr;
        }
        w.red = p.red;
        p.red = false;
        must(w.left).red = false;
        this.rotateRight(p, w);
      }
      x = this.root;
    }
    if (x !== null) x.red = false;
  }
}
