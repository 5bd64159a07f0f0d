//! kosh-graphics-driver: a linear 32-bit framebuffer driver: clear, filled rectangles (clipped),
//! Bresenham lines and a checksum of the visible pixels. Built for the standard (host) target, with
//! std, as a static library with a C ABI (the caller passes the framebuffer memory).

use kosh_types::KoshError;

pub struct Framebuffer<'a> {
    pixels: &'a mut [u32],
    pub width: usize,
    pub height: usize,
    pub stride: usize,
}

impl<'a> Framebuffer<'a> {
    pub fn new(pixels: &'a mut [u32], width: usize, height: usize, stride: usize) -> Result<Self, KoshError> {
        if width == 0 || height == 0 || stride < width || pixels.len() < stride * (height - 1) + width {
            return Err(KoshError::Invalid);
        }
        Ok(Framebuffer { pixels, width, height, stride })
    }
    pub fn clear(&mut self, color: u32) {
        self.fill_rect(0, 0, self.width, self.height, color);
    }
    pub fn put(&mut self, x: isize, y: isize, color: u32) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.pixels[y as usize * self.stride + x as usize] = color;
        }
    }
    pub fn get(&self, x: usize, y: usize) -> u32 {
        self.pixels[y * self.stride + x]
    }
    /// Fills a rectangle clipped to the screen; returns the pixels written.
    pub fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, color: u32) -> usize {
        let x1 = x.saturating_add(w).min(self.width);
        let y1 = y.saturating_add(h).min(self.height);
        let mut n = 0;
        for row in y.min(y1)..y1 {
            let base = row * self.stride;
            self.pixels[base + x.min(x1)..base + x1].fill(color);
            n += x1 - x.min(x1);
        }
        n
    }
    /// Bresenham's line from (x0, y0) to (x1, y1), both ends included.
    pub fn line(&mut self, mut x0: isize, mut y0: isize, x1: isize, y1: isize, color: u32) {
        let dx = (x1 - x0).abs();
        let dy = -(y1 - y0).abs();
        let sx = if x0 < x1 { 1 } else { -1 };
        let sy = if y0 < y1 { 1 } else { -1 };
        let mut err = dx + dy;
        loop {
            self.put(x0, y0, color);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }
    /// FNV-1a over the visible pixels.
    pub fn checksum(&self) -> u32 {
        let mut h = 0x811c_9dc5u32;
        for y in 0..self.height {
            for &p in &self.pixels[y * self.stride..y * self.stride + self.width] {
                for b in p.to_le_bytes() {
                    h = (h ^ b as u32).wrapping_mul(0x0100_0193);
                }
            }
        }
        h
    }
}

/// C ABI: fills a rectangle in a caller-owned framebuffer; returns the pixels written, or -1.
///
/// # Safety
/// `pixels` must point to `stride * height` writable u32s.
#[no_mangle]
pub unsafe extern "C" fn kosh_gfx_fill_rect(pixels: *mut u32, width: usize, height: usize, stride: usize, x: usize, y: usize, w: usize, h: usize, color: u32) -> isize {
    let buf = core::slice::from_raw_parts_mut(pixels, stride * height);
    match Framebuffer::new(buf, width, height, stride) {
        Ok(mut fb) => fb.fill_rect(x, y, w, h, color) as isize,
        Err(_) => -1,
    }
}

/// C ABI: draws a test card into a 64×48 framebuffer and returns its checksum.
#[no_mangle]
pub extern "C" fn kosh_graphics_selftest() -> u32 {
    let mut mem = [0u32; 64 * 48];
    let mut fb = match Framebuffer::new(&mut mem, 64, 48, 64) {
        Ok(fb) => fb,
        Err(_) => return 0,
    };
    fb.clear(0x0000_0000);
    fb.fill_rect(8, 8, 16, 16, 0x00ff_0000);
    fb.fill_rect(56, 40, 100, 100, 0x0000_ff00);
    fb.line(0, 0, 63, 47, 0x0000_00ff);
    fb.checksum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_clipped() {
        let mut mem = vec![0u32; 10 * 10];
        let mut fb = Framebuffer::new(&mut mem, 10, 10, 10).unwrap();
        assert_eq!(fb.fill_rect(8, 8, 5, 5, 1), 4);
        assert_eq!(fb.fill_rect(20, 20, 5, 5, 1), 0);
        assert_eq!(fb.get(9, 9), 1);
        assert_eq!(fb.get(7, 7), 0);
    }

    #[test]
    fn line_hits_both_ends_and_diagonal() {
        let mut mem = vec![0u32; 8 * 8];
        let mut fb = Framebuffer::new(&mut mem, 8, 8, 8).unwrap();
        fb.line(0, 0, 7, 7, 5);
        for i in 0..8 {
            assert_eq!(fb.get(i, i), 5);
        }
        assert_eq!(mem.iter().filter(|&&p| p == 5).count(), 8);
    }

    #[test]
    fn rejects_short_buffers() {
        let mut mem = [0u32; 10];
        assert!(Framebuffer::new(&mut mem, 4, 4, 4).is_err());
    }

    #[test]
    fn selftest_is_stable() {
        assert_eq!(kosh_graphics_selftest(), kosh_graphics_selftest());
        assert_ne!(kosh_graphics_selftest(), 0);
    }
}
