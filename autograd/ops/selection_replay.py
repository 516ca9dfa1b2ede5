"""Replays of the selection and sorting algorithms behind torch's CPU kernels, step by step, where the index
torch returns among equal values depends on them: libstdc++'s ``std::nth_element`` on a row with no two
entries ordered (nanmedian on an all-NaN row), torch's quickselect (kthvalue) and libstdc++'s introsort
``std::sort`` with the scan of its sorted pairs (mode). Plain Python on host sequences; no Tensors."""
from __future__ import annotations


# ---- libstdc++'s std::nth_element, replayed ----------------------------------------------------------------
def _nth_element_all_equivalent(n, nth):
    """Where libstdc++'s ``std::nth_element`` (introselect) leaves the index at ``nth`` when no element
    compares less than another: torch's nanmedian on an all-NaN row returns that index."""
    order = list(range(n))
    first, last = 0, n
    while last - first > 3:
        mid = first + (last - first) // 2
        order[first], order[mid] = order[mid], order[first]    # median-of-three picks the middle one
        lo, hi = first + 1, last
        while True:                                             # the unguarded partition swaps every pair
            hi -= 1
            if not lo < hi:
                break
            order[lo], order[hi] = order[hi], order[lo]
            lo += 1
        if lo <= nth:
            first = lo
        else:
            last = lo
    return order[nth]


# ---- torch's quickselect, replayed -------------------------------------------------------------------------
def _greater_or_nan(a, b):
    return (a != a and b == b) or a > b


def _quickselect_index(values, k):
    """The original position that torch's quickselect (median-of-three pivot, NaN largest) leaves at ``k``:
    among equal values it decides which index kthvalue returns."""
    arr, pos = list(values), list(range(len(values)))

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]
        pos[i], pos[j] = pos[j], pos[i]

    left, right = 0, len(arr) - 1
    while True:
        if right <= left:
            return pos[k]
        if right == left + 1:
            if _greater_or_nan(arr[left], arr[right]):
                swap(left, right)
            return pos[k]
        swap(left + (right - left) // 2, left + 1)
        if _greater_or_nan(arr[left + 1], arr[right]):
            swap(left + 1, right)
        if _greater_or_nan(arr[left], arr[right]):
            swap(left, right)
        if _greater_or_nan(arr[left + 1], arr[left]):
            swap(left + 1, left)
        i, j, pivot = left + 1, right, arr[left]
        while True:
            i += 1
            while _greater_or_nan(pivot, arr[i]):
                i += 1
            j -= 1
            while _greater_or_nan(arr[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(left, j)
        if j <= k:
            left = i
        if j >= k:
            right = j - 1


# ---- libstdc++'s std::sort, replayed -----------------------------------------------------------------------
# torch's CPU mode sorts (value, index) pairs with std::sort comparing values only, so which index of equal
# values ends up last (the one mode returns) is decided by that introsort; it is replayed here step by step.
# The functions take parallel sequences (lists, or arrays under Numba) and move values and indices together.
_INSERTION_THRESHOLD = 16


def _less(v, i, j):
    return v[i] < v[j]


def _swap(v, ix, i, j):
    v[i], v[j] = v[j], v[i]
    ix[i], ix[j] = ix[j], ix[i]


def _linear_insert(v, ix, last, lowest):
    value, index = v[last], ix[last]
    prev = last - 1
    while prev >= lowest and value < v[prev]:   # (the bound only matters for NaN, where C++ is undefined)
        v[prev + 1], ix[prev + 1] = v[prev], ix[prev]
        prev -= 1
    v[prev + 1], ix[prev + 1] = value, index


def _insertion_sort(v, ix, first, last):
    for i in range(first + 1, last):
        if v[i] < v[first]:
            value, index = v[i], ix[i]
            for j in range(i, first, -1):
                v[j], ix[j] = v[j - 1], ix[j - 1]
            v[first], ix[first] = value, index
        else:
            _linear_insert(v, ix, i, first)


def _sift_down(v, ix, first, hole, length, value, index):
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if v[first + child] < v[first + child - 1]:
            child -= 1
        v[first + hole], ix[first + hole] = v[first + child], ix[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        v[first + hole], ix[first + hole] = v[first + child - 1], ix[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and v[first + parent] < value:
        v[first + hole], ix[first + hole] = v[first + parent], ix[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[first + hole], ix[first + hole] = value, index


def _heap_sort(v, ix, first, last):
    length = last - first
    parent = (length - 2) // 2
    while length >= 2:
        _sift_down(v, ix, first, parent, length, v[first + parent], ix[first + parent])
        if parent == 0:
            break
        parent -= 1
    while last - first > 1:
        last -= 1
        value, index = v[last], ix[last]
        v[last], ix[last] = v[first], ix[first]
        _sift_down(v, ix, first, 0, last - first, value, index)


def _partition_pivot(v, ix, first, last):
    a, b, c = first + 1, first + (last - first) // 2, last - 1
    if _less(v, a, b):
        pick = b if _less(v, b, c) else (c if _less(v, a, c) else a)
    else:
        pick = a if _less(v, a, c) else (c if _less(v, b, c) else b)
    _swap(v, ix, first, pick)
    lo, hi = first + 1, last
    while True:
        while v[lo] < v[first]:
            lo += 1
        hi -= 1
        while v[first] < v[hi]:
            hi -= 1
        if not lo < hi:
            return lo
        _swap(v, ix, lo, hi)
        lo += 1


def _std_sort(v, ix):
    n = len(v)
    if n < 2:
        return
    depth0 = 0
    while (1 << (depth0 + 1)) <= n:
        depth0 += 1
    pending = [(0, n, 2 * depth0)]          # the recursion's ranges are disjoint: any order gives the same
    while pending:
        first, last, depth = pending.pop()
        while last - first > _INSERTION_THRESHOLD:
            if depth == 0:
                _heap_sort(v, ix, first, last)
                break
            depth -= 1
            cut = _partition_pivot(v, ix, first, last)
            pending.append((cut, last, depth))
            last = cut
    if n > _INSERTION_THRESHOLD:
        _insertion_sort(v, ix, 0, _INSERTION_THRESHOLD)
        for i in range(_INSERTION_THRESHOLD, n):
            _linear_insert(v, ix, i, 0)
    else:
        _insertion_sort(v, ix, 0, n)


def _mode_of_sorted(v, ix):
    """torch's scan of the sorted pairs: the first longest run of equal values, and the index at its end."""
    best_index, best_count, count = ix[0], 0, 0
    for i in range(len(v)):
        count += 1
        if i == len(v) - 1 or v[i] != v[i + 1]:
            if count > best_count:
                best_index, best_count = ix[i], count
            count = 0
    return best_index
